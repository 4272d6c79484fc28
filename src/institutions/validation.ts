/**
 * Validation decorators shared by the registry and the course catalogue (courses import them
 * from here). They belong in src/common/validation/decorators.ts next to @IsFen and should move
 * there when that file is next touched.
 */
import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptions } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsString, Length, Matches, ValidationOptions, registerDecorator } from 'class-validator';
import { IsId } from '../common/validation/decorators';

export const DISTRICT_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

const trim = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' ? value.trim() : value;

/** Removes surrounding white space before the other checks run, and stores the trimmed text. */
export const Trim = () => Transform(trim);

/** Free text, trimmed, then between min and max characters: "   " counts as empty. */
export function IsTrimmedText(min: number, max: number, api: ApiPropertyOptions = {}) {
  return applyDecorators(
    Trim(),
    IsString(),
    Length(min, max),
    ApiProperty({ type: String, minLength: min, maxLength: max, ...api }),
  );
}

/** A district code as tokens carry it (`510112`, `d-chengdu-lqy`). */
export function IsDistrictId(api: ApiPropertyOptions = {}) {
  return applyDecorators(
    Trim(),
    IsString(),
    Matches(DISTRICT_ID_PATTERN, { message: '$property must be 1-64 letters, digits, _ or -' }),
    ApiProperty({
      type: String,
      pattern: DISTRICT_ID_PATTERN.source,
      example: '510112',
      ...api,
    }),
  );
}

/** `:id` path parameters: a malformed id is a 400, an unknown or invisible one a 404. */
export class IdParams {
  @IsId()
  id!: string;
}

/** `:districtId` path parameters. */
export class DistrictParams {
  @IsDistrictId()
  districtId!: string;
}

const ISO_DATE = /^(20\d{2})-(\d{2})-(\d{2})$/;

/** A calendar date `YYYY-MM-DD` (years 2000-2099) that exists: 2025-02-30 is refused. */
export function isIsoDate(value: unknown): value is string {
  if (typeof value !== 'string' || !ISO_DATE.test(value)) return false;
  const date = new Date(`${value}T00:00:00Z`);
  return !Number.isNaN(date.getTime()) && date.toISOString().slice(0, 10) === value;
}

export function IsIsoDate(api: ApiPropertyOptions = {}) {
  return applyDecorators(
    (target: object, propertyName: string | symbol) =>
      registerDecorator({
        name: 'isIsoDate',
        target: target.constructor,
        propertyName: propertyName as string,
        options: { message: '$property must be a date YYYY-MM-DD' },
        validator: { validate: isIsoDate },
      }),
    ApiProperty({
      type: String,
      format: 'date',
      example: '2025-09-01',
      ...api,
    }),
  );
}

/** This date is the same as or later than the date in `property` (when both are valid dates). */
export function IsOnOrAfter(property: string, options: ValidationOptions = {}) {
  return (target: object, propertyName: string | symbol) =>
    registerDecorator({
      name: 'isOnOrAfter',
      target: target.constructor,
      propertyName: propertyName as string,
      constraints: [property],
      options: { message: `$property must be on or after ${property}`, ...options },
      validator: {
        validate(value: unknown, args) {
          const other = (args?.object as Record<string, unknown>)[property];
          if (!isIsoDate(value) || !isIsoDate(other)) return true; // reported by @IsIsoDate
          return value >= other;
        },
      },
    });
}
