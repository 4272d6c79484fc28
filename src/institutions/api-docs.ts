/** OpenAPI decorators shared by the registry's and the catalogue's controllers. */
import { ApiHeader } from '@nestjs/swagger';

/** Documents the optional `Idempotency-Key` header of a route that reads it with @Idempotency(). */
export const IdempotencyKeyHeader = () =>
  ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    description: 'Retries with the same key and body get the first response; 1-255 characters',
  });
