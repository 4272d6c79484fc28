/** Reading benchmark options and writing their figures. */

/** A positive integer option (`flag` names it in the error), or `fallback` when it is absent. */
export function positive(value: string | undefined, fallback: number, flag: string): number {
  if (value === undefined) return fallback;
  if (!/^[1-9]\d*$/.test(value)) throw new Error(`${flag} must be a positive integer`);
  return Number(value);
}

/** A figure rounded to `digits` decimals (never money: that is integer fen). */
export const round = (value: number, digits = 3) => Math.round(value * 10 ** digits) / 10 ** digits;
