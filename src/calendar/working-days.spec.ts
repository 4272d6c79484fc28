import { CalendarDayKind } from './calendar-day.entity';
import { chinaDate } from '../common/time/china-date';
import { addDays, chinaMidnight, daysBetween, dayOfWeek } from './dates';
import { CalendarOverrides, isWorkingDay, nthWorkingDay, workingDaySpan } from './working-days';

const NONE: CalendarOverrides = new Map();

/** National Day 2026: Thursday 1 to Wednesday 7 October off; Sunday 20 September and Saturday
 * 10 October worked instead. */
const NATIONAL_DAY_2026: CalendarOverrides = new Map<string, CalendarDayKind>([
  ['2026-09-20', 'workday'],
  ...['01', '02', '03', '04', '05', '06', '07'].map((d): [string, CalendarDayKind] => [
    `2026-10-${d}`,
    'holiday',
  ]),
  ['2026-10-10', 'workday'],
]);

const after = (from: string, n: number, overrides = NONE) =>
  nthWorkingDay(from, n, 1, overrides, workingDaySpan(n));
const before = (from: string, n: number, overrides = NONE) =>
  nthWorkingDay(from, n, -1, overrides, workingDaySpan(n));

describe('day arithmetic', () => {
  it('starts a China date at 16:00 UTC the day before', () => {
    expect(chinaMidnight('2026-03-02').toISOString()).toBe('2026-03-01T16:00:00.000Z');
    expect(chinaDate(chinaMidnight('2026-03-02'))).toBe('2026-03-02');
    expect(chinaDate(new Date(chinaMidnight('2026-03-02').getTime() - 1))).toBe('2026-03-01');
  });

  it('adds and counts days across months and leap days', () => {
    expect(addDays('2028-02-28', 1)).toBe('2028-02-29');
    expect(addDays('2026-12-31', 1)).toBe('2027-01-01');
    expect(addDays('2026-03-01', -1)).toBe('2026-02-28');
    expect(daysBetween('2028-01-01', '2028-12-31')).toBe(365);
    expect(daysBetween('2026-03-02', '2026-03-01')).toBe(-1);
  });

  it('knows the weekday', () => {
    expect(dayOfWeek('2026-10-01')).toBe(4);
    expect(dayOfWeek('2026-10-10')).toBe(6);
  });

  it('refuses dates that do not exist', () => {
    expect(() => addDays('2026-02-30', 1)).toThrow(RangeError);
    expect(() => dayOfWeek('20261001')).toThrow(RangeError);
  });
});

describe('working days', () => {
  it('works Monday to Friday by default', () => {
    // 2026-03-02 is a Monday
    const week = Array.from({ length: 7 }, (_, i) => isWorkingDay(addDays('2026-03-02', i), NONE));
    expect(week).toEqual([true, true, true, true, true, false, false]);
  });

  it('lets a holiday take a weekday off and a make-up day turn a weekend day into work', () => {
    expect(isWorkingDay('2026-10-01', NATIONAL_DAY_2026)).toBe(false);
    expect(isWorkingDay('2026-09-20', NATIONAL_DAY_2026)).toBe(true);
    expect(isWorkingDay('2026-10-10', NATIONAL_DAY_2026)).toBe(true);
    expect(isWorkingDay('2026-10-11', NATIONAL_DAY_2026)).toBe(false);
  });

  it('skips the weekend', () => {
    expect(after('2026-03-06', 1)).toBe('2026-03-09'); // Friday → Monday
    expect(after('2026-03-07', 1)).toBe('2026-03-09'); // Saturday → Monday
    expect(after('2026-03-05', 3)).toBe('2026-03-10'); // Thursday + 3 → Tuesday
  });

  it('counts strictly after the start, even from a working day', () => {
    expect(after('2026-03-02', 1)).toBe('2026-03-03');
    expect(after('2026-03-02', 0)).toBe('2026-03-02');
  });

  it('skips a holiday week and counts its make-up days', () => {
    // Tuesday 29 September: Wednesday 30 is the 1st, then the week off, then Thursday 8 and
    // Friday 9, and Saturday 10 (make-up) is the 4th.
    expect(after('2026-09-29', 1, NATIONAL_DAY_2026)).toBe('2026-09-30');
    expect(after('2026-09-29', 2, NATIONAL_DAY_2026)).toBe('2026-10-08');
    expect(after('2026-09-29', 4, NATIONAL_DAY_2026)).toBe('2026-10-10');
    expect(after('2026-09-29', 5, NATIONAL_DAY_2026)).toBe('2026-10-12');
    // Friday 18 September: Sunday 20 is a make-up working day.
    expect(after('2026-09-18', 1, NATIONAL_DAY_2026)).toBe('2026-09-20');
    expect(after('2026-09-18', 1)).toBe('2026-09-21');
  });

  it('spans several weeks', () => {
    expect(after('2026-03-02', 15)).toBe('2026-03-23');
    // Tuesday 15 September: 12 working days to the 30th (Sunday 20 included), then 8, 9, 10 October.
    expect(after('2026-09-15', 15, NATIONAL_DAY_2026)).toBe('2026-10-10');
    expect(after('2026-09-15', 15)).toBe('2026-10-06');
  });

  it('counts backwards the same way', () => {
    expect(before('2026-03-09', 1)).toBe('2026-03-06');
    expect(before('2026-10-08', 1, NATIONAL_DAY_2026)).toBe('2026-09-30');
    expect(before('2026-10-12', 3, NATIONAL_DAY_2026)).toBe('2026-10-08');
    expect(before('2026-10-12', 4, NATIONAL_DAY_2026)).toBe('2026-09-30');
  });

  it('finds overdue lessons by one date: after(d, n) < today exactly when d < before(today, n)', () => {
    for (const n of [1, 3, 7, 15]) {
      for (let t = 0; t < 40; t += 1) {
        const today = addDays('2026-09-10', t);
        const cutoff = before(today, n, NATIONAL_DAY_2026)!;
        for (let d = -40; d < 0; d += 1) {
          const delivered = addDays(today, d);
          const overdue = after(delivered, n, NATIONAL_DAY_2026)! < today;
          expect([delivered, today, n, overdue]).toEqual([delivered, today, n, delivered < cutoff]);
        }
      }
    }
  });

  it('answers undefined when the window is too short, so that the caller widens it', () => {
    const allOff = new Map<string, CalendarDayKind>(
      Array.from({ length: 60 }, (_, i): [string, CalendarDayKind] => [
        addDays('2026-03-01', i),
        'holiday',
      ]),
    );
    expect(nthWorkingDay('2026-02-28', 1, 1, allOff, 30)).toBeUndefined();
    expect(nthWorkingDay('2026-02-28', 1, 1, allOff, 120)).toBe('2026-04-30');
  });

  it('refuses a negative or fractional count', () => {
    expect(() => after('2026-03-02', -1)).toThrow(RangeError);
    expect(() => after('2026-03-02', 1.5)).toThrow(RangeError);
  });
});
