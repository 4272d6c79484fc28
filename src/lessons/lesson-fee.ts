import { allocateFen } from '../common/money/fen';

/**
 * What the `sequence`-th lesson of an order costs (DESIGN.md rule 6): the order total split over
 * its paid lessons in whole fen, the remainder on the last paid lesson; a bonus lesson beyond them
 * costs nothing.
 */
export function lessonFeeFen(
  order: { amountFen: number; lessonsPaid: number },
  sequence: number,
): number {
  if (!Number.isSafeInteger(sequence) || sequence < 1) {
    throw new RangeError('sequence must be an integer >= 1');
  }
  if (sequence > order.lessonsPaid) return 0;
  return allocateFen(order.amountFen, order.lessonsPaid)[sequence - 1];
}
