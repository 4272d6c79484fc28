/**
 * The guided price cap (政府指导价, DESIGN.md §3 rule 4, RULES.md R-PUR-06) of a subject-type
 * course: the base price of the class-size band, plus the district's markup, pro rata for lesson
 * length against the standard lesson. Integer arithmetic only: BigInt throughout, one floor at
 * the end, so no rounding error can let a price through.
 */
import type {
  DistrictPolicyValues,
  PriceCapBand,
} from '../institutions/entities/district-policy.entity';

export type PriceCapPolicy = Pick<
  DistrictPolicyValues,
  'priceCapBands' | 'priceCapMarkupPercent' | 'standardLessonMinutes'
>;

function positiveInteger(name: string, value: number): bigint {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(`${name} must be a positive integer, got ${value}`);
  }
  return BigInt(value);
}

/** The band a class size falls in; bands are inclusive, a null maximum means "and over". */
export function priceCapBandOf(bands: readonly PriceCapBand[], classSize: number): PriceCapBand {
  const band = bands.find(
    (b) => classSize >= b.minClassSize && (b.maxClassSize === null || classSize <= b.maxClassSize),
  );
  if (!band) throw new RangeError(`no price cap band covers a class of ${classSize}`);
  return band;
}

/**
 * capFen = floor(baseFen × (100 + markupPercent) × lessonMinutes / (100 × standardLessonMinutes))
 */
export function guidedPriceCapFen(
  policy: PriceCapPolicy,
  classSize: number,
  lessonMinutes: number,
): number {
  positiveInteger('classSize', classSize);
  const minutes = positiveInteger('lessonMinutes', lessonMinutes);
  const standard = positiveInteger('standardLessonMinutes', policy.standardLessonMinutes);
  const markup = policy.priceCapMarkupPercent;
  if (!Number.isSafeInteger(markup) || markup < 0) {
    throw new RangeError(`priceCapMarkupPercent must be an integer >= 0, got ${markup}`);
  }
  const base = positiveInteger('baseFen', priceCapBandOf(policy.priceCapBands, classSize).baseFen);
  const cap = (base * BigInt(100 + markup) * minutes) / (100n * standard);
  const capFen = Number(cap);
  if (!Number.isSafeInteger(capFen)) throw new RangeError(`price cap out of range: ${cap}`);
  return capFen;
}
