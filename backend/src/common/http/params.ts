import { ValidationFailed } from './errors.js';

/** A malformed id in the path is a 400 with the field named, like any other bad input. */
export const badUuid = () => new ValidationFailed([{ field: 'id', message: 'must be a UUID' }]);
