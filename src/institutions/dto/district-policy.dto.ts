import { ApiProperty } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsInt,
  Max,
  Min,
  ValidateIf,
  ValidateNested,
  registerDecorator,
} from 'class-validator';
import { IsFen } from '../../common/validation/decorators';
import type { DistrictPolicyValues, PriceCapBand } from '../entities/district-policy.entity';
import { Page } from '../../common/pagination/cursor';
import { NextCursorProperty } from '../../common/pagination/cursor';

export const MAX_CLASS_SIZE = 500;

export class PriceCapBandDto implements PriceCapBand {
  @ApiProperty({ type: 'integer', minimum: 1, maximum: MAX_CLASS_SIZE, example: 10 })
  @IsInt()
  @Min(1)
  @Max(MAX_CLASS_SIZE)
  minClassSize!: number;

  @ApiProperty({
    type: 'integer',
    nullable: true,
    minimum: 1,
    maximum: MAX_CLASS_SIZE,
    example: 34,
    description: 'Inclusive; null for "and over" (the last band only)',
  })
  @ValidateIf((_: unknown, value: unknown) => value !== null)
  @IsInt()
  @Min(1)
  @Max(MAX_CLASS_SIZE)
  maxClassSize!: number | null;

  @IsFen({ description: 'Guided price per student-lesson of standard length', example: 4200 })
  baseFen!: number;
}

/** Why a list of bands does not cover class sizes 1.. exactly once, or undefined when it does. */
export function priceCapBandsProblem(bands: readonly Partial<PriceCapBand>[]): string | undefined {
  let expectedMin = 1;
  for (const [index, band] of bands.entries()) {
    const last = index === bands.length - 1;
    if (band.minClassSize !== expectedMin) {
      return `band ${index + 1} must start at class size ${expectedMin}`;
    }
    if (last) {
      if (band.maxClassSize !== null) return 'the last band must be open-ended (maxClassSize null)';
    } else {
      if (typeof band.maxClassSize !== 'number') {
        return `only the last band may be open-ended (band ${index + 1} is not)`;
      }
      if (band.maxClassSize < band.minClassSize) {
        return `band ${index + 1} ends before it starts`;
      }
      expectedMin = band.maxClassSize + 1;
    }
  }
  return undefined;
}

/** Bands are contiguous, ascending from class size 1, and only the last is open-ended. */
function IsContiguousBands() {
  return (target: object, propertyName: string | symbol) =>
    registerDecorator({
      name: 'isContiguousBands',
      target: target.constructor,
      propertyName: propertyName as string,
      options: {
        message: (args) =>
          `$property: ${priceCapBandsProblem(args.value as PriceCapBand[]) ?? 'invalid'}`,
      },
      validator: {
        validate(value: unknown) {
          // Shapes are reported by @IsArray and the nested band checks.
          if (!Array.isArray(value) || !value.every((b) => b !== null && typeof b === 'object')) {
            return true;
          }
          return priceCapBandsProblem(value as PriceCapBand[]) === undefined;
        },
      },
    });
}

const IntProperty = (minimum: number, maximum: number, example: number, description: string) =>
  ApiProperty({ type: 'integer', minimum, maximum, example, description });

/** Every field of a district policy (DESIGN.md §3); PUT replaces the whole policy. */
export class DistrictPolicyValuesDto implements DistrictPolicyValues {
  @IntProperty(1, 500, 60, 'Most lessons (bonus included) one purchase may cover')
  @IsInt()
  @Min(1)
  @Max(500)
  maxLessons!: number;

  @IntProperty(1, 24, 3, 'Most months from the first to the last lesson of one purchase')
  @IsInt()
  @Min(1)
  @Max(24)
  maxSpanMonths!: number;

  @IsFen({ description: 'Largest amount of one purchase', example: 500000 })
  maxAmountFen!: number;

  @IntProperty(0, 500, 20, 'Renewal refused while more unconsumed lessons than this remain')
  @IsInt()
  @Min(0)
  @Max(500)
  renewalThreshold!: number;

  @ApiProperty({
    type: [PriceCapBandDto],
    minItems: 1,
    maxItems: 10,
    description: 'Guided price by class size: contiguous from 1, only the last open-ended',
    example: [
      { minClassSize: 1, maxClassSize: 9, baseFen: 5000 },
      { minClassSize: 10, maxClassSize: 34, baseFen: 4200 },
      { minClassSize: 35, maxClassSize: null, baseFen: 3500 },
    ],
  })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(10)
  @ValidateNested({ each: true })
  @Type(() => PriceCapBandDto)
  @IsContiguousBands()
  priceCapBands!: PriceCapBandDto[];

  @IntProperty(0, 100, 10, 'How far above the base price a subject course may be priced')
  @IsInt()
  @Min(0)
  @Max(100)
  priceCapMarkupPercent!: number;

  @IntProperty(1, 240, 45, 'Lesson length the base prices are for; others are pro rata')
  @IsInt()
  @Min(1)
  @Max(240)
  standardLessonMinutes!: number;

  @ApiProperty({
    type: 'integer',
    nullable: true,
    minimum: 1,
    maximum: 60,
    example: null,
    description: 'Working days after which an unanswered lesson is confirmed; null for never',
  })
  @ValidateIf((_: unknown, value: unknown) => value !== null)
  @IsInt()
  @Min(1)
  @Max(60)
  autoConfirmWorkingDays!: number | null;

  @IntProperty(1, 60, 5, "Working days of an institution's silence that approve a refund")
  @IsInt()
  @Min(1)
  @Max(60)
  refundSilenceWorkingDays!: number;
}

export class DistrictPolicyDto extends DistrictPolicyValuesDto {
  @ApiProperty({ example: '510112' })
  districtId!: string;

  @ApiProperty({ type: 'integer', example: 3, description: '0 while the defaults apply' })
  version!: number;

  @ApiProperty({ type: String, nullable: true, example: 'op-1', description: 'null for defaults' })
  updatedBy!: string | null;

  @ApiProperty({
    type: String,
    format: 'date-time',
    nullable: true,
    example: '2025-09-01T08:00:00.000Z',
  })
  updatedAt!: string | null;
}

export class DistrictPolicyChangeDto {
  @ApiProperty({ type: 'integer', example: 3 })
  version!: number;

  @ApiProperty({ type: DistrictPolicyValuesDto, description: 'The whole policy as set' })
  policy!: DistrictPolicyValuesDto;

  @ApiProperty({ example: 'op-1', description: 'The operator who set it' })
  changedBy!: string;

  @ApiProperty({ format: 'date-time', example: '2025-09-01T08:00:00.000Z' })
  changedAt!: string;
}

export class DistrictPolicyHistoryDto implements Page<DistrictPolicyChangeDto> {
  @ApiProperty({ type: [DistrictPolicyChangeDto], description: 'Newest first' })
  items!: DistrictPolicyChangeDto[];

  @NextCursorProperty()
  nextCursor!: string | null;
}
