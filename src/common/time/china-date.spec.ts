import { addMonths, chinaDate, isIsoDate } from './china-date';

describe('china dates', () => {
  it('counts the date in China time', () => {
    expect(chinaDate(new Date('2026-11-22T15:59:59Z'))).toBe('2026-11-22');
    expect(chinaDate(new Date('2026-11-22T16:00:00Z'))).toBe('2026-11-23');
  });

  it('adds calendar months, clamping to the last day of the month', () => {
    expect(addMonths('2026-01-15', 3)).toBe('2026-04-15');
    expect(addMonths('2026-11-30', 3)).toBe('2027-02-28');
    expect(addMonths('2027-11-30', 3)).toBe('2028-02-29');
    expect(addMonths('2026-10-31', 1)).toBe('2026-11-30');
  });

  it('recognises real ISO dates only', () => {
    expect(isIsoDate('2026-02-28')).toBe(true);
    expect(isIsoDate('2026-02-30')).toBe(false);
    expect(isIsoDate('2026-2-3')).toBe(false);
  });
});
