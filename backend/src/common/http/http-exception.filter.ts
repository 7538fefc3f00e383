import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { Response } from 'express';
import { Busy, RateLimited } from './errors.js';

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
    if (exception instanceof RateLimited || exception instanceof Busy) res.setHeader('Retry-After', String(exception.retryAfterSeconds));
    if (status >= 500) this.log.error({ msg: 'unhandled error', err: String(exception), stack: (exception as Error)?.stack });
    if (!res.headersSent) res.status(status).json(body);
  }

  private describe(exception: unknown): { status: number; body: Record<string, unknown> } {
    // Nest wraps body-parser and URL-decoding errors in an HttpException whose message quotes
    // the body (JSON.parse's "... is not valid JSON"); answer those with fixed text instead.
    const parseError = exception instanceof HttpException ? exception.cause : exception;
    const generic = genericParseMessage(parseError);
    if (generic) {
      const status = (parseError as { status: number }).status;
      return { status, body: { statusCode: status, error: reason[status] ?? 'Error', message: generic } };
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const raw = exception.getResponse();
      const obj = typeof raw === 'string' ? { message: raw } : (raw as Record<string, unknown>);
      const message = Array.isArray(obj.message) ? obj.message.join('; ') : String(obj.message ?? exception.message);
      const body: Record<string, unknown> = { statusCode: status, error: reason[status] ?? 'Error', message };
      if (obj.details) body.details = obj.details;
      return { status, body };
    }
    return { status: 500, body: { statusCode: 500, error: reason[500], message: 'Internal server error' } };
  }
}

const parseMessages: Record<string, string> = {
  'entity.parse.failed': 'Malformed JSON body',
  'entity.too.large': 'Request body too large',
  'charset.unsupported': 'Unsupported charset',
  'encoding.unsupported': 'Unsupported content encoding',
  'request.aborted': 'Request aborted',
  'request.size.invalid': 'Request size did not match Content-Length',
};

/**
 * A fixed message for a 4xx raised while reading or decoding the request (body-parser's
 * errors carry a `type`; a bad %-escape in the URL is a URIError), never text from the request.
 */
function genericParseMessage(e: unknown): string | undefined {
  const err = e as { status?: unknown; type?: unknown } | undefined;
  if (typeof err?.status !== 'number' || err.status < 400 || err.status >= 500) return undefined;
  if (typeof err.type === 'string') return parseMessages[err.type] ?? reason[err.status] ?? 'Bad request';
  if (e instanceof SyntaxError) return parseMessages['entity.parse.failed'];
  if (e instanceof URIError) return 'Malformed URL encoding';
  return undefined;
}
