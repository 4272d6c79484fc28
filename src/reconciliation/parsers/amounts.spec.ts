import { AmountError, yuanToFen } from './amounts';

describe('yuanToFen', () => {
  it.each([
    ['0', 0],
    ['0.01', 1],
    ['5', 500],
    ['5.', 500],
    ['5.5', 550],
    ['1234.05', 123_405],
    ['007.10', 710],
    ['12.340', 1_234],
    ['  42.00 ', 4_200],
    ['9999999999999.99', 999_999_999_999_999],
  ])('reads %p as %p fen', (text, fen) => {
    expect(yuanToFen(text)).toBe(fen);
  });

  it('reads thousands separators only when asked to', () => {
    expect(yuanToFen('1,234,567.89', { grouping: true })).toBe(123_456_789);
    expect(() => yuanToFen('1,234.00')).toThrow(AmountError);
    expect(() => yuanToFen('12,34.00', { grouping: true })).toThrow(AmountError);
  });

  it.each(['12.345', '0.001', '1.999'])('refuses %p: more than 2 decimal places', (text) => {
    expect(() => yuanToFen(text)).toThrow(/more than 2 decimal places/);
  });

  it.each(['', '-1.00', '+1.00', '1e5', '1.2.3', '.5', 'NaN', '１２', '0x10', '12 .00'])(
    'refuses %p',
    (text) => {
      expect(() => yuanToFen(text)).toThrow(AmountError);
    },
  );

  it('refuses amounts beyond any balance', () => {
    expect(() => yuanToFen('99999999999999.00')).toThrow(/too large/);
  });

  it('is exact where floating point is not (0.1 + 0.2, 1.005)', () => {
    expect(yuanToFen('0.10') + yuanToFen('0.20')).toBe(30);
    expect(yuanToFen('1.15')).toBe(115);
    expect(yuanToFen('19.99')).toBe(1_999);
    expect(yuanToFen('4.35')).toBe(435);
  });
});
