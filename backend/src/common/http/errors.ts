import { HttpException, HttpStatus } from '@nestjs/common';

export interface FieldProblem {
  field: string;
  message: string;
}

/** Messages and codes shared by REST answers and socket acks. */
export type ErrorCode = 'bad_request' | 'unauthorized' | 'forbidden' | 'not_found' | 'conflict' | 'rate_limited' | 'too_large' | 'unavailable' | 'internal';

const codeByStatus: Record<number, ErrorCode> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  409: 'conflict',
  413: 'too_large',
  429: 'rate_limited',
  503: 'unavailable',
};

export function codeForStatus(status: number): ErrorCode {
  return codeByStatus[status] ?? 'internal';
}

export class ValidationFailed extends HttpException {
  constructor(
    readonly details: FieldProblem[],
    message = 'Validation failed',
  ) {
    super({ statusCode: 400, error: 'Bad Request', message, details }, HttpStatus.BAD_REQUEST);
  }
}

export class RateLimited extends HttpException {
  constructor(readonly retryAfterSeconds: number) {
    super({ statusCode: 429, error: 'Too Many Requests', message: 'Too many requests, try again later' }, HttpStatus.TOO_MANY_REQUESTS);
  }
}

export class PayloadTooLarge extends HttpException {
  constructor(
    message: string,
    readonly details: FieldProblem[] = [],
  ) {
    super({ statusCode: 413, error: 'Payload Too Large', message, details }, HttpStatus.PAYLOAD_TOO_LARGE);
  }
}

export class UnsupportedType extends HttpException {
  constructor(message: string) {
    super({ statusCode: 415, error: 'Unsupported Media Type', message }, HttpStatus.UNSUPPORTED_MEDIA_TYPE);
  }
}

/** This process is at its capacity for this kind of work; try again after `retryAfterSeconds`. */
export class Busy extends HttpException {
  constructor(
    readonly retryAfterSeconds: number,
    message = 'Too busy, try again shortly',
  ) {
    super({ statusCode: 503, error: 'Service Unavailable', message }, HttpStatus.SERVICE_UNAVAILABLE);
  }
}
