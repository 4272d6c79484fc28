/**
 * Yuan as banks write them ("1234.05", "1,234.05") to integer fen by string arithmetic: no
 * floating point ever touches a statement amount.
 */
const PLAIN = /^(\d+)(?:\.(\d*))?$/;
const GROUPED = /^(\d{1,3}(?:,\d{3})+)(?:\.(\d*))?$/;
/** 10^15 fen, far above any custody balance and well inside the safe-integer range. */
const MAX_INTEGER_DIGITS = 13;

export class AmountError extends Error {}

/**
 * The fen in a non-negative decimal amount of yuan. Digits after the second decimal place must be
 * zeros ("12.340" is exact, "12.345" is refused); thousands separators only when `grouping`.
 */
export function yuanToFen(text: string, options: { grouping?: boolean } = {}): number {
  const trimmed = text.trim();
  const match = PLAIN.exec(trimmed) ?? (options.grouping ? GROUPED.exec(trimmed) : null);
  if (!match) throw new AmountError(`"${shorten(trimmed)}" is not an amount in yuan`);
  const integer = match[1].replace(/,/g, '').replace(/^0+(?=\d)/, '');
  const fraction = match[2] ?? '';
  if (fraction.length > 2 && /[^0]/.test(fraction.slice(2))) {
    throw new AmountError(`"${shorten(trimmed)}" has more than 2 decimal places`);
  }
  if (integer.length > MAX_INTEGER_DIGITS) {
    throw new AmountError(`"${shorten(trimmed)}" is too large`);
  }
  return Number(integer) * 100 + Number(fraction.slice(0, 2).padEnd(2, '0'));
}

function shorten(text: string): string {
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

/** Adds fen, refusing to leave the safe-integer range. */
export function addFen(a: number, b: number): number {
  const sum = a + b;
  if (!Number.isSafeInteger(sum)) throw new AmountError('the amounts add up beyond any balance');
  return sum;
}
