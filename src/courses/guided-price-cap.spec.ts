import { DEFAULT_DISTRICT_POLICY } from '../institutions/entities/district-policy.entity';
import { PriceCapPolicy, guidedPriceCapFen, priceCapBandOf } from './guided-price-cap';

describe('guidedPriceCapFen', () => {
  const longquanyi: PriceCapPolicy = DEFAULT_DISTRICT_POLICY;

  describe('with the Longquanyi defaults (50/42/35 yuan, +10%, 45 minutes)', () => {
    it.each([
      [1, 5_500],
      [9, 5_500],
      [10, 4_620],
      [34, 4_620],
      [35, 3_850],
      [500, 3_850],
    ])('caps a class of %i at %i fen per 45-minute lesson', (classSize, capFen) => {
      expect(guidedPriceCapFen(longquanyi, classSize, 45)).toBe(capFen);
    });

    it('allows exactly 10% above the base price', () => {
      for (const band of longquanyi.priceCapBands) {
        expect(guidedPriceCapFen(longquanyi, band.minClassSize, 45)).toBe(
          band.baseFen + band.baseFen / 10,
        );
      }
    });
  });

  describe('pro rata for lesson length', () => {
    it('doubles for a 90-minute lesson', () => {
      expect(guidedPriceCapFen(longquanyi, 5, 90)).toBe(11_000);
    });

    it('scales a 60-minute lesson exactly when it divides', () => {
      // 4200 × 110 × 60 / 4500 = 6160
      expect(guidedPriceCapFen(longquanyi, 20, 60)).toBe(6_160);
    });

    it('rounds down, never up, when it does not divide', () => {
      // 3500 × 110 × 40 / 4500 = 3422.2…
      expect(guidedPriceCapFen(longquanyi, 40, 40)).toBe(3_422);
      // 5000 × 110 × 31 / 4500 = 3788.8…
      expect(guidedPriceCapFen(longquanyi, 1, 31)).toBe(3_788);
    });
  });

  describe('with another policy', () => {
    const policy: PriceCapPolicy = {
      priceCapBands: [
        { minClassSize: 1, maxClassSize: 1, baseFen: 10_001 },
        { minClassSize: 2, maxClassSize: null, baseFen: 999 },
      ],
      priceCapMarkupPercent: 0,
      standardLessonMinutes: 60,
    };

    it('applies no markup when the markup is 0%', () => {
      expect(guidedPriceCapFen(policy, 1, 60)).toBe(10_001);
      expect(guidedPriceCapFen(policy, 2, 60)).toBe(999);
    });

    it('applies a 100% markup', () => {
      expect(guidedPriceCapFen({ ...policy, priceCapMarkupPercent: 100 }, 3, 60)).toBe(1_998);
    });

    it('stays exact at the largest base price a policy may hold', () => {
      // 9_999_999_999 × 133 × 239 / (100 × 7), floored
      const big: PriceCapPolicy = {
        priceCapBands: [{ minClassSize: 1, maxClassSize: null, baseFen: 9_999_999_999 }],
        priceCapMarkupPercent: 33,
        standardLessonMinutes: 7,
      };
      const exact = (9_999_999_999n * 133n * 239n) / 700n;
      expect(guidedPriceCapFen(big, 1, 239)).toBe(Number(exact));
    });
  });

  describe('refuses', () => {
    it.each([0, -1, 1.5, Number.NaN])('a class size of %p', (classSize) => {
      expect(() => guidedPriceCapFen(longquanyi, classSize, 45)).toThrow(RangeError);
    });

    it.each([0, -45, 44.5])('a lesson of %p minutes', (minutes) => {
      expect(() => guidedPriceCapFen(longquanyi, 10, minutes)).toThrow(RangeError);
    });

    it('a class size no band covers', () => {
      const gap: PriceCapPolicy = {
        ...longquanyi,
        priceCapBands: [{ minClassSize: 1, maxClassSize: 9, baseFen: 5_000 }],
      };
      expect(() => guidedPriceCapFen(gap, 10, 45)).toThrow(RangeError);
    });
  });
});

describe('priceCapBandOf', () => {
  it('includes both ends of a band', () => {
    const bands = DEFAULT_DISTRICT_POLICY.priceCapBands;
    expect(priceCapBandOf(bands, 9).baseFen).toBe(5_000);
    expect(priceCapBandOf(bands, 10).baseFen).toBe(4_200);
    expect(priceCapBandOf(bands, 34).baseFen).toBe(4_200);
    expect(priceCapBandOf(bands, 35).baseFen).toBe(3_500);
  });
});
