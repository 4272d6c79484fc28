/**
 * Working-day arithmetic over a district's overrides. Monday to Friday are working days unless an
 * override says otherwise: `holiday` takes a weekday off, `workday` makes a weekend day a make-up
 * working day (调休). Pure functions: CalendarService loads the overrides of a window once.
 */
import type { CalendarDayKind } from './calendar-day.entity';
import { addDays, dayOfWeek } from './dates';

/** Override kinds by ISO date. */
export type CalendarOverrides = ReadonlyMap<string, CalendarDayKind>;

export function isWorkingDay(date: string, overrides: CalendarOverrides): boolean {
  const kind = overrides.get(date);
  if (kind !== undefined) return kind === 'workday';
  const weekday = dayOfWeek(date);
  return weekday !== 0 && weekday !== 6;
}

/**
 * A window of days that holds `n` working days under any realistic calendar: the weekends of n
 * working days plus a month of holidays. Longer runs of holidays need a second, wider window.
 */
export function workingDaySpan(n: number): number {
  return Math.ceil(n / 5) * 7 + 31;
}

/**
 * The n-th working day after (`direction` 1) or before (-1) `start`, not counting `start` itself.
 * `overrides` must cover the `span` days on that side of `start`; undefined when the n-th working
 * day lies beyond them. n = 0 is `start`.
 */
export function nthWorkingDay(
  start: string,
  n: number,
  direction: 1 | -1,
  overrides: CalendarOverrides,
  span: number,
): string | undefined {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError('n must be an integer >= 0');
  let found = 0;
  for (let step = 1; found < n; step += 1) {
    if (step > span) return undefined;
    const day = addDays(start, direction * step);
    if (isWorkingDay(day, overrides)) {
      found += 1;
      if (found === n) return day;
    }
  }
  return start;
}
