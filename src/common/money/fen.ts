/**
 * Money is integer fen (1 yuan = 100 fen): bigint in PostgreSQL, safe integers in JavaScript.
 * Everything that crosses a boundary passes through here.
 */
import { ValueTransformer } from 'typeorm';

export class FenOverflowError extends Error {}

/** Converts a PostgreSQL bigint (string) or number to a safe integer, refusing anything else. */
export function toFen(value: string | number | bigint): number {
  const fen = typeof value === 'number' ? value : Number(value);
  if (!Number.isSafeInteger(fen)) throw new FenOverflowError(`not a safe integer amount: ${value}`);
  return fen;
}

export const fenTransformer: ValueTransformer = {
  to: (value: number | null | undefined) =>
    value === null || value === undefined ? value : toFen(value),
  from: (value: string | null) => (value === null ? null : toFen(value)),
};

/** Splits `total` fen into `parts` whole-fen shares; the remainder goes to the last share. */
export function allocateFen(total: number, parts: number): number[] {
  if (!Number.isSafeInteger(total) || total < 0)
    throw new RangeError('total must be whole fen >= 0');
  if (!Number.isSafeInteger(parts) || parts < 1)
    throw new RangeError('parts must be an integer >= 1');
  const share = Math.floor(total / parts);
  const shares = new Array<number>(parts).fill(share);
  shares[parts - 1] = total - share * (parts - 1);
  return shares;
}

/** Sums fen amounts, refusing to leave the safe-integer range. */
export function sumFen(amounts: Iterable<number>): number {
  let total = 0;
  for (const amount of amounts) total = toFen(total + toFen(amount));
  return total;
}

/** "5000.00" for 500000 fen: for messages to people, never for arithmetic. */
export function formatYuan(fen: number): string {
  const sign = fen < 0 ? '-' : '';
  const abs = Math.abs(toFen(fen));
  return `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`;
}
