import { Param, ParseUUIDPipe, PipeTransform } from '@nestjs/common';
import { validationFailed } from '../errors/domain.exception';

/** UUIDs in their canonical (lower-case) text, as PostgreSQL writes them back. */
const canonicalUuid: PipeTransform<string, string> = { transform: (value) => value.toLowerCase() };

/**
 * A UUID path parameter (`:id` by default), in canonical form, so that an id compares equal to
 * the one a query returns; anything else is a 400 VALIDATION_FAILED.
 */
export const IdParam = (name = 'id') =>
  Param(
    name,
    new ParseUUIDPipe({
      exceptionFactory: () => validationFailed([{ field: name, message: 'must be a UUID' }]),
    }),
    canonicalUuid,
  );
