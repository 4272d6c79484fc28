/** Dates and times as statements write them, turned into China dates (UTC+8) and instants. */
import { chinaDate, isIsoDate } from '../../common/time/china-date';

const DATE = /^(\d{4}-\d{2}-\d{2})(?:Z|[+-]\d{2}:\d{2})?$/;
const DATE_TIME =
  /^(\d{4}-\d{2}-\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d{1,9})?(Z|[+-](?:0\d|1[0-4]):[0-5]\d)?$/;

export class DateError extends Error {}

/** An xs:date ("2026-11-22", optionally with a zone, which a calendar date ignores). */
export function parseIsoDate(text: string): string {
  const match = DATE.exec(text.trim());
  if (!match || !isIsoDate(match[1])) throw new DateError(`"${text}" is not a date YYYY-MM-DD`);
  return match[1];
}

/**
 * An xs:dateTime: its China date and its instant. A time without a zone is China time, as a
 * Chinese bank writes it.
 */
export function parseIsoDateTime(text: string): { date: string; instant: string } {
  const trimmed = text.trim();
  const match = DATE_TIME.exec(trimmed);
  if (
    !match ||
    !isIsoDate(match[1]) ||
    Number(match[2]) > 23 ||
    Number(match[3]) > 59 ||
    Number(match[4]) > 59
  ) {
    throw new DateError(`"${text}" is not a date-time YYYY-MM-DDThh:mm:ss[zone]`);
  }
  const chinaTime = !match[5] || match[5] === '+08:00';
  const instant = new Date(chinaTime && !match[5] ? `${trimmed}+08:00` : trimmed);
  if (Number.isNaN(instant.getTime())) throw new DateError(`"${text}" is not a date-time`);
  // Written in China time, the date is the one written.
  return { date: chinaTime ? match[1] : chinaDate(instant), instant: instant.toISOString() };
}

/** The day after an ISO date. */
export function nextDay(date: string): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
}

/** Every date from `from` to `to`, inclusive. */
export function datesBetween(from: string, to: string): string[] {
  const days: string[] = [];
  for (let day = from; day <= to; day = nextDay(day)) days.push(day);
  return days;
}

export function daysBetween(from: string, to: string): number {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000);
}
