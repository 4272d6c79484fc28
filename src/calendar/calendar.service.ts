/**
 * The districts' working-day calendars: the overrides operators maintain, and working-day
 * arithmetic over them. Each computation loads the overrides of the window it needs in one query.
 */
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Between, DataSource, EntityManager } from 'typeorm';
import { AuthErrorCode, authError } from '../auth/auth.errors';
import type { Principal } from '../auth/principal';
import { validationFailed } from '../common/errors/domain.exception';
import { CalendarDay } from './calendar-day.entity';
import {
  CalendarDayDto,
  CalendarDaysDto,
  MAX_CALENDAR_RANGE_DAYS,
  SetCalendarDayDto,
  toCalendarDayDto,
} from './calendar.dto';
import { addDays, daysBetween } from './dates';
import { CalendarOverrides, isWorkingDay, nthWorkingDay, workingDaySpan } from './working-days';

@Injectable()
export class CalendarService {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async isWorkingDay(manager: EntityManager, districtId: string, date: string): Promise<boolean> {
    return isWorkingDay(date, await this.overrides(manager, districtId, date, date));
  }

  /** The n-th working day strictly after `fromDate`. */
  addWorkingDays(
    manager: EntityManager,
    districtId: string,
    fromDate: string,
    n: number,
  ): Promise<string> {
    return this.walk(manager, districtId, fromDate, n, 1);
  }

  /** The n-th working day strictly before `beforeDate`. */
  subtractWorkingDays(
    manager: EntityManager,
    districtId: string,
    beforeDate: string,
    n: number,
  ): Promise<string> {
    return this.walk(manager, districtId, beforeDate, n, -1);
  }

  async setDay(
    principal: Principal,
    districtId: string,
    day: string,
    body: SetCalendarDayDto,
  ): Promise<CalendarDayDto> {
    const district = this.scopedDistrict(principal, districtId);
    const { manager } = this.dataSource;
    await manager.upsert(
      CalendarDay,
      {
        districtId: district,
        day,
        kind: body.kind,
        note: body.note ?? null,
        updatedBy: principal.sub,
        updatedAt: new Date(),
      },
      ['districtId', 'day'],
    );
    const row = await manager.findOneByOrFail(CalendarDay, { districtId: district, day });
    return toCalendarDayDto(row);
  }

  /** Back to the default for that weekday; clearing a day without an override is a no-op. */
  async clearDay(principal: Principal, districtId: string, day: string): Promise<void> {
    const district = this.scopedDistrict(principal, districtId);
    await this.dataSource.manager.delete(CalendarDay, { districtId: district, day });
  }

  async listDays(
    principal: Principal,
    districtId: string,
    from: string,
    to: string,
  ): Promise<CalendarDaysDto> {
    const district = this.scopedDistrict(principal, districtId);
    const days = daysBetween(from, to) + 1;
    if (days < 1) throw validationFailed([{ field: 'to', message: 'to must not be before from' }]);
    if (days > MAX_CALENDAR_RANGE_DAYS) {
      throw validationFailed([
        { field: 'to', message: `the range may cover at most ${MAX_CALENDAR_RANGE_DAYS} days` },
      ]);
    }
    const rows = await this.dataSource.manager.find(CalendarDay, {
      where: { districtId: district, day: Between(from, to) },
      order: { day: 'ASC' },
    });
    return { items: rows.map(toCalendarDayDto) };
  }

  /** Staff act on their own district only; the returned id is the one every query uses. */
  private scopedDistrict(principal: Principal, districtId: string): string {
    if (principal.districtId === undefined || principal.districtId !== districtId) {
      throw authError(AuthErrorCode.FORBIDDEN_SCOPE, 'this is not your district');
    }
    return principal.districtId;
  }

  private async walk(
    manager: EntityManager,
    districtId: string,
    start: string,
    n: number,
    direction: 1 | -1,
  ): Promise<string> {
    for (let span = workingDaySpan(n); ; span *= 2) {
      const far = addDays(start, direction * span);
      const near = addDays(start, direction);
      const overrides =
        direction === 1
          ? await this.overrides(manager, districtId, near, far)
          : await this.overrides(manager, districtId, far, near);
      const day = nthWorkingDay(start, n, direction, overrides, span);
      if (day !== undefined) return day;
    }
  }

  private async overrides(
    manager: EntityManager,
    districtId: string,
    from: string,
    to: string,
  ): Promise<CalendarOverrides> {
    const rows: { day: string; kind: CalendarDay['kind'] }[] = await manager.query(
      `SELECT to_char(day, 'YYYY-MM-DD') AS day, kind FROM calendar_days
       WHERE district_id = $1 AND day BETWEEN $2::date AND $3::date`,
      [districtId, from, to],
    );
    return new Map(rows.map((row) => [row.day, row.kind]));
  }
}
