import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { Response } from 'express';
import { RateLimited } from './errors.js';

const reason: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** One error shape for every REST answer: {statusCode, error, message, details?}. */
@Catch()
export class HttpExceptionFilter implements ExceptionFilter {
  private readonly log = new Logger('http');

  catch(exception: unknown, host: ArgumentsHost): void {
    if (host.getType() !== 'http') throw exception;
    const res = host.switchToHttp().getResponse<Response>();
    const { status, body } = this.describe(exception);
    if (exception instanceof RateLimited) res.setHeader('Retry-After', String(exception.retryAfterSeconds));
    if (status >= 500) this.log.error({ msg: 'unhandled error', err: String(exception), stack: (exception as Error)?.stack });
    if (!res.headersSent) res.status(status).json(body);
  }

  private describe(exception: unknown): { status: number; body: Record<string, unknown> } {
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const raw = exception.getResponse();
      const obj = typeof raw === 'string' ? { message: raw } : (raw as Record<string, unknown>);
      const message = Array.isArray(obj.message) ? obj.message.join('; ') : String(obj.message ?? exception.message);
      const body: Record<string, unknown> = { statusCode: status, error: reason[status] ?? 'Error', message };
      if (obj.details) body.details = obj.details;
      return { status, body };
    }
    // body-parser errors carry a status (malformed JSON 400, too large 413, bad charset 415).
    const e = exception as { status?: number; type?: string; message?: string };
    if (typeof e?.status === 'number' && e.status >= 400 && e.status < 500) {
      const message =
        e.type === 'entity.parse.failed' ? 'Malformed JSON body' : e.type === 'entity.too.large' ? 'Request body too large' : (e.message ?? 'Bad request');
      return { status: e.status, body: { statusCode: e.status, error: reason[e.status] ?? 'Error', message } };
    }
    return { status: 500, body: { statusCode: 500, error: reason[500], message: 'Internal server error' } };
  }
}
