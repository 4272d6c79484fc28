import { applyDecorators } from '@nestjs/common';
import { ApiPropertyOptional, ApiPropertyOptions } from '@nestjs/swagger';
import { IsISO8601, IsOptional, IsString, Matches } from 'class-validator';

/**
 * A date and time with its offset, at most microsecond precision, years 0001-9999 (what
 * PostgreSQL's timestamptz takes). A date without a time or an offset is ambiguous and refused.
 */
const INSTANT =
  /^(?!0000)\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-](0\d|1[0-4]):[0-5]\d)$/;

/** An optional query parameter holding an instant, e.g. `2026-03-01T08:00:00+08:00`. */
export function IsInstant(options: ApiPropertyOptions = {}) {
  const message =
    '$property must be an ISO 8601 date-time with an offset, e.g. 2026-03-01T08:00:00+08:00';
  return applyDecorators(
    IsOptional(),
    IsString({ message }),
    Matches(INSTANT, { message }),
    IsISO8601({ strict: true, strictSeparator: true }, { message }),
    ApiPropertyOptional({
      type: 'string',
      format: 'date-time',
      example: '2026-03-01T08:00:00+08:00',
      ...options,
    }),
  );
}
