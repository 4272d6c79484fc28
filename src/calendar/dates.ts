/**
 * Day arithmetic on ISO dates (YYYY-MM-DD) in China time, for the working-day calendar. Which
 * China date an instant falls on is src/common/time/china-date.ts.
 */
import { isIsoDate } from '../common/time/china-date';

const CHINA_OFFSET_MS = 8 * 3_600_000;
const DAY_MS = 86_400_000;

function epochDay(date: string): number {
  if (!isIsoDate(date)) throw new RangeError(`not a calendar date: ${date}`);
  return Date.parse(`${date}T00:00:00Z`) / DAY_MS;
}

export function addDays(date: string, days: number): string {
  return new Date((epochDay(date) + days) * DAY_MS).toISOString().slice(0, 10);
}

/** Whole days from `from` to `to` (negative when `to` is earlier). */
export function daysBetween(from: string, to: string): number {
  return epochDay(to) - epochDay(from);
}

/** 0 = Sunday … 6 = Saturday. */
export function dayOfWeek(date: string): number {
  return new Date(epochDay(date) * DAY_MS).getUTCDay();
}

/** The instant a China date begins (00:00 at UTC+8). */
export function chinaMidnight(date: string): Date {
  return new Date(epochDay(date) * DAY_MS - CHINA_OFFSET_MS);
}
