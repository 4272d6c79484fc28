import { allocateFen, FenOverflowError, formatYuan, sumFen, toFen } from './fen';

describe('fen', () => {
  it('reads PostgreSQL bigints as safe integers', () => {
    expect(toFen('12345')).toBe(12345);
    expect(toFen('-7')).toBe(-7);
    expect(() => toFen('9007199254740993')).toThrow(FenOverflowError);
    expect(() => toFen(1.5)).toThrow(FenOverflowError);
  });

  it('allocates whole fen with the remainder on the last share', () => {
    expect(allocateFen(1000, 3)).toEqual([333, 333, 334]);
    expect(allocateFen(2, 3)).toEqual([0, 0, 2]);
    expect(allocateFen(500000, 60).reduce((a, b) => a + b, 0)).toBe(500000);
  });

  it.each([
    [10, 0],
    [-1, 2],
    [1.5, 2],
  ])('refuses to allocate %p over %p parts', (total, parts) => {
    expect(() => allocateFen(total, parts)).toThrow(RangeError);
  });

  it('sums without leaving the safe range', () => {
    expect(sumFen([1, 2, 3])).toBe(6);
    expect(() => sumFen([Number.MAX_SAFE_INTEGER, 1])).toThrow(FenOverflowError);
  });

  it('formats yuan for people', () => {
    expect(formatYuan(500000)).toBe('5000.00');
    expect(formatYuan(5)).toBe('0.05');
    expect(formatYuan(-1234)).toBe('-12.34');
  });
});
