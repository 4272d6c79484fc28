import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, MaxLength } from 'class-validator';
import { CalendarDay, CalendarDayKind } from './calendar-day.entity';
import { DistrictParams, IsIsoDate } from '../institutions/validation';

export const CALENDAR_DAY_KINDS: readonly CalendarDayKind[] = ['holiday', 'workday'];
/** The longest range one listing may cover: a year, leap day included. */
export const MAX_CALENDAR_RANGE_DAYS = 366;

export class CalendarDayParams extends DistrictParams {
  @IsIsoDate({ description: 'the day (China date)' })
  day!: string;
}

export class SetCalendarDayDto {
  @IsIn(CALENDAR_DAY_KINDS)
  @ApiProperty({
    enum: CALENDAR_DAY_KINDS,
    example: 'holiday',
    description: '`holiday` takes a weekday off; `workday` makes a weekend day a working day',
  })
  kind!: CalendarDayKind;

  @IsOptional()
  @IsString()
  @MaxLength(200)
  @ApiPropertyOptional({ maxLength: 200, example: 'National Day' })
  note?: string;
}

export class CalendarRangeQuery {
  @IsIsoDate({ description: 'first day, inclusive', example: '2026-01-01' })
  from!: string;

  @IsIsoDate({ description: 'last day, inclusive (at most 366 days)', example: '2026-12-31' })
  to!: string;
}

export class CalendarDayDto {
  @ApiProperty({ example: '510112' })
  districtId!: string;

  @ApiProperty({ type: 'string', format: 'date', example: '2026-10-01' })
  day!: string;

  @ApiProperty({ enum: CALENDAR_DAY_KINDS, example: 'holiday' })
  kind!: CalendarDayKind;

  @ApiProperty({ type: 'string', nullable: true, example: 'National Day' })
  note!: string | null;

  @ApiProperty({ example: 'op-1', description: 'the operator who set it' })
  updatedBy!: string;

  @ApiProperty({ type: 'string', format: 'date-time', example: '2026-09-01T02:00:00.000Z' })
  updatedAt!: Date;
}

export class CalendarDaysDto {
  @ApiProperty({ type: [CalendarDayDto] })
  items!: CalendarDayDto[];
}

export function toCalendarDayDto(row: CalendarDay): CalendarDayDto {
  return {
    districtId: row.districtId,
    day: row.day,
    kind: row.kind,
    note: row.note,
    updatedBy: row.updatedBy,
    updatedAt: row.updatedAt,
  };
}
