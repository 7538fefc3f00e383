import { Injectable, Logger, NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { MetricsService } from '../metrics/metrics.service.js';

/** One structured log line and one metrics sample per request, labelled by route pattern. */
@Injectable()
export class RequestLogMiddleware implements NestMiddleware {
  private readonly log = new Logger('http');

  constructor(private readonly metrics: MetricsService) {}

  use(req: Request, res: Response, next: NextFunction) {
    const start = process.hrtime.bigint();
    res.on('finish', () => {
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      const route = (req.route as { path?: string } | undefined)?.path ?? (req.path.startsWith('/api/') ? 'unmatched' : 'static');
      this.metrics.httpRequests.inc({ method: req.method, route, status: String(res.statusCode) });
      this.metrics.httpDuration.observe({ method: req.method, route }, seconds);
      if (route === '/health/live' || route === '/health/ready' || route === '/metrics') return;
      this.log.log({ msg: 'request', method: req.method, route, status: res.statusCode, ms: Math.round(seconds * 1000), ip: req.ip });
    });
    next();
  }
}
