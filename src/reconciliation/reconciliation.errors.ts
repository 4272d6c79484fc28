import { onConstraintViolation } from '../common/errors/database-errors';
import { FieldError, defineErrors } from '../common/errors/domain.exception';

export enum ReconciliationErrorCode {
  /** Not well-formed XML or CSV, a DOCTYPE, an unsupported version, a missing element or column. */
  STATEMENT_MALFORMED = 'STATEMENT_MALFORMED',
  /** Well-formed but wrong: an amount with more than 2 decimals, a date outside the period, a repeated reference. */
  STATEMENT_INVALID = 'STATEMENT_INVALID',
  /** Opening + credits − debits ≠ closing, totals ≠ TxsSummry, a running balance that does not add up. */
  STATEMENT_UNBALANCED = 'STATEMENT_UNBALANCED',
  STATEMENT_UNKNOWN_ACCOUNT = 'STATEMENT_UNKNOWN_ACCOUNT',
  /** The electronic sequence number skips one. */
  STATEMENT_SEQUENCE_GAP = 'STATEMENT_SEQUENCE_GAP',
  /** The opening balance is not the closing balance of the account's previous statement. */
  STATEMENT_NOT_CONTINUOUS = 'STATEMENT_NOT_CONTINUOUS',
  /** Says something else than an imported statement about the same line, day or sequence number. */
  STATEMENT_CONFLICT = 'STATEMENT_CONFLICT',
  STATEMENT_NOT_FOUND = 'STATEMENT_NOT_FOUND',
  RECONCILIATION_EXCEPTION_NOT_FOUND = 'RECONCILIATION_EXCEPTION_NOT_FOUND',
  EXCEPTION_ALREADY_RESOLVED = 'EXCEPTION_ALREADY_RESOLVED',
  EXCEPTION_NOT_BOOKABLE = 'EXCEPTION_NOT_BOOKABLE',
  SECOND_OPERATOR_REQUIRED = 'SECOND_OPERATOR_REQUIRED',
}

export const reconciliationError = defineErrors<ReconciliationErrorCode>({
  STATEMENT_MALFORMED: { status: 422, title: 'The statement file cannot be read' },
  STATEMENT_INVALID: { status: 422, title: 'The statement is not valid' },
  STATEMENT_UNBALANCED: { status: 422, title: 'The statement does not add up' },
  STATEMENT_UNKNOWN_ACCOUNT: { status: 422, title: 'Not a custody account of this service' },
  STATEMENT_SEQUENCE_GAP: { status: 422, title: 'A statement is missing before this one' },
  STATEMENT_NOT_CONTINUOUS: {
    status: 422,
    title: 'The opening balance does not continue the previous statement',
  },
  STATEMENT_CONFLICT: { status: 422, title: 'The statement contradicts one already imported' },
  STATEMENT_NOT_FOUND: { status: 404, title: 'Statement not found' },
  RECONCILIATION_EXCEPTION_NOT_FOUND: { status: 404, title: 'Reconciliation exception not found' },
  EXCEPTION_ALREADY_RESOLVED: { status: 409, title: 'The exception is already resolved' },
  EXCEPTION_NOT_BOOKABLE: { status: 409, title: 'Only bank-only money can be booked to suspense' },
  SECOND_OPERATOR_REQUIRED: { status: 409, title: 'A second, different operator must approve' },
});

/** A statement refused as a whole: 422 naming each element or line and what is wrong with it. */
export function statementRejected(
  code: ReconciliationErrorCode,
  errors: FieldError[],
  extensions: Record<string, unknown> = {},
) {
  const shown = errors.slice(0, 20);
  const detail =
    shown.map((e) => `${e.field}: ${e.message}`).join('; ') +
    (errors.length > shown.length ? ` (and ${errors.length - shown.length} more)` : '');
  return reconciliationError(code, `Nothing was imported. ${detail}`, {
    ...extensions,
    errors: shown,
  });
}

onConstraintViolation('uq_reconciliation_statements_sequence', () =>
  statementRejected(ReconciliationErrorCode.STATEMENT_CONFLICT, [
    { field: 'ElctrncSeqNb', message: 'this sequence number was imported concurrently' },
  ]),
);
