import { Param, ParseUUIDPipe } from '@nestjs/common';
import { validationFailed } from '../errors/domain.exception';

/** A UUID path parameter (`:id` by default); anything else is a 400 VALIDATION_FAILED. */
export const IdParam = (name = 'id') =>
  Param(
    name,
    new ParseUUIDPipe({
      exceptionFactory: () => validationFailed([{ field: name, message: 'must be a UUID' }]),
    }),
  );
