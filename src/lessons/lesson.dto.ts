import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional, ApiPropertyOptions } from '@nestjs/swagger';
import {
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Length,
  Matches,
  Max,
  MaxLength,
  Min,
  ValidateBy,
  isISO8601,
} from 'class-validator';
import { IsId } from '../common/validation/decorators';

/** An instant with its offset (`Z` or ±hh:mm): a timestamp without one is ambiguous. */
const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})$/;
export const TEXT_MAX = 500;
export const DISPUTE_OUTCOMES = ['release', 'refund'] as const;
export type DisputeOutcome = (typeof DISPUTE_OUTCOMES)[number];

export function IsInstant(options: ApiPropertyOptions = {}) {
  return applyDecorators(
    ValidateBy({
      name: 'isInstant',
      validator: {
        validate: (value: unknown) =>
          typeof value === 'string' &&
          INSTANT.test(value) &&
          isISO8601(value, { strict: true }) &&
          !Number.isNaN(Date.parse(value)),
        defaultMessage: () => '$property must be an ISO 8601 timestamp with an offset',
      },
    }),
    ApiProperty({
      type: 'string',
      format: 'date-time',
      example: '2026-03-02T18:30:00+08:00',
      ...options,
    }),
  );
}

/** Free text a person wrote: not blank, at most `max` characters. */
function IsText(max: number, options: ApiPropertyOptions) {
  return applyDecorators(
    IsString(),
    Length(1, max),
    Matches(/\S/, { message: '$property must not be blank' }),
    ApiProperty({ minLength: 1, maxLength: max, ...options }),
  );
}

export class RecordLessonDto {
  @IsId({ description: 'an active order of your institution' })
  orderId!: string;

  @IsInstant({ description: 'when the lesson was delivered; at most 5 minutes in the future' })
  deliveredAt!: string;

  @IsOptional()
  @IsString()
  @MaxLength(TEXT_MAX)
  @ApiPropertyOptional({ maxLength: TEXT_MAX, example: 'Fractions, chapter 3' })
  note?: string;
}

export class ConfirmLessonDto {
  @IsOptional()
  @IsInt({ message: '$property must be an integer from 1 to 5' })
  @Min(1)
  @Max(5)
  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: 5, example: 5 })
  rating?: number;

  @IsOptional()
  @IsString()
  @MaxLength(TEXT_MAX)
  @ApiPropertyOptional({ maxLength: TEXT_MAX, example: 'Clear explanations.' })
  comment?: string;
}

export class DisputeLessonDto {
  @IsText(TEXT_MAX, { example: 'The lesson ended after 20 minutes.' })
  reason!: string;
}

export class ResolveDisputeDto {
  @IsIn(DISPUTE_OUTCOMES)
  @ApiProperty({
    enum: DISPUTE_OUTCOMES,
    example: 'refund',
    description: '`release` pays the fee to the institution; `refund` returns it to the order',
  })
  outcome!: DisputeOutcome;

  @IsText(TEXT_MAX, { example: 'Attendance record shows the lesson was cut short.' })
  note!: string;
}

export class ListLessonsQuery {
  @IsId({ description: 'the order whose lessons to list' })
  orderId!: string;
}
