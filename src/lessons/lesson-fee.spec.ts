import { sumFen } from '../common/money/fen';
import { lessonFeeFen } from './lesson-fee';

const feesOf = (order: { amountFen: number; lessonsPaid: number }, lessons: number) =>
  Array.from({ length: lessons }, (_, i) => lessonFeeFen(order, i + 1));

describe('lessonFeeFen', () => {
  it('splits an even total into equal fees', () => {
    expect(feesOf({ amountFen: 3_000, lessonsPaid: 3 }, 3)).toEqual([1_000, 1_000, 1_000]);
  });

  it('puts the remainder of an uneven total on the last paid lesson', () => {
    expect(feesOf({ amountFen: 1_000, lessonsPaid: 3 }, 3)).toEqual([333, 333, 334]);
    expect(feesOf({ amountFen: 100, lessonsPaid: 7 }, 7)).toEqual([14, 14, 14, 14, 14, 14, 16]);
  });

  it('makes the fees sum exactly to what was paid', () => {
    for (const [amountFen, lessonsPaid] of [
      [499_999, 60],
      [1, 1],
      [7, 3],
      [500_000, 59],
    ]) {
      const fees = feesOf({ amountFen, lessonsPaid }, lessonsPaid);
      expect(sumFen(fees)).toBe(amountFen);
      expect(fees.every((fee) => Number.isSafeInteger(fee) && fee >= 0)).toBe(true);
    }
  });

  it('charges nothing for bonus lessons beyond the paid ones', () => {
    expect(feesOf({ amountFen: 1_000, lessonsPaid: 3 }, 5)).toEqual([333, 333, 334, 0, 0]);
  });

  it('refuses a sequence that is not a positive integer', () => {
    expect(() => lessonFeeFen({ amountFen: 100, lessonsPaid: 2 }, 0)).toThrow(RangeError);
    expect(() => lessonFeeFen({ amountFen: 100, lessonsPaid: 2 }, 1.5)).toThrow(RangeError);
  });
});
