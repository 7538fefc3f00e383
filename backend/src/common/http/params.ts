import { Param, ParseUUIDPipe } from '@nestjs/common';
import { ValidationFailed } from './errors.js';

/** A path parameter that must be a UUID; a malformed one is a 400 naming it, like any other bad input. */
export const UuidParam = (name = 'id') =>
  Param(name, new ParseUUIDPipe({ exceptionFactory: () => new ValidationFailed([{ field: name, message: 'must be a UUID' }]) }));
