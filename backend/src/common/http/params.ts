import { Param, ParseUUIDPipe } from '@nestjs/common';
import { ValidationFailed } from './errors.js';

/** A malformed id in the path is a 400 with the field named, like any other bad input. */
export const badUuid = () => new ValidationFailed([{ field: 'id', message: 'must be a UUID' }]);

/** A path parameter that must be a UUID; a malformed one is a 400 naming it. */
export const UuidParam = (name = 'id') =>
  Param(name, new ParseUUIDPipe({ exceptionFactory: name === 'id' ? badUuid : () => new ValidationFailed([{ field: name, message: 'must be a UUID' }]) }));
