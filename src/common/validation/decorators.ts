/** Reusable validation decorators, so that every endpoint checks money and ids the same way. */
import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptions } from '@nestjs/swagger';
import { IsInt, IsUUID, Max, Min } from 'class-validator';

/** Largest amount any request may carry: 100 million yuan, far above any legal purchase. */
export const MAX_REQUEST_FEN = 10_000_000_000;

/** An amount in integer fen: an integer, never a float or a numeric string. */
export function IsFen(options: { min?: number; max?: number } & ApiPropertyOptions = {}) {
  const { min = 1, max = MAX_REQUEST_FEN, ...api } = options;
  return applyDecorators(
    IsInt({ message: '$property must be an integer number of fen' }),
    Min(min),
    Max(max),
    ApiProperty({ type: 'integer', minimum: min, maximum: max, example: 50000, ...api }),
  );
}

export function IsId(options: ApiPropertyOptions = {}) {
  return applyDecorators(
    IsUUID('all', { message: '$property must be a UUID' }),
    ApiProperty({ format: 'uuid', example: '3f1c2f9e-8a4b-4c55-9d7e-2b1a7c6d5e4f', ...options }),
  );
}
