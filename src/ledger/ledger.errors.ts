import { defineErrors } from '../common/errors/domain.exception';
import { onConstraintViolation } from '../common/errors/database-errors';

export enum LedgerErrorCode {
  INSUFFICIENT_FUNDS = 'INSUFFICIENT_FUNDS',
  LEDGER_REFERENCE_EXISTS = 'LEDGER_REFERENCE_EXISTS',
  PENDING_TRANSFER_ALREADY_RESOLVED = 'PENDING_TRANSFER_ALREADY_RESOLVED',
  PENDING_TRANSFER_NOT_FOUND = 'PENDING_TRANSFER_NOT_FOUND',
  ALREADY_REVERSED = 'ALREADY_REVERSED',
  INVALID_TRANSFER = 'INVALID_TRANSFER',
}

export const ledgerError = defineErrors<LedgerErrorCode>({
  INSUFFICIENT_FUNDS: { status: 409, title: 'Not enough money in the account' },
  LEDGER_REFERENCE_EXISTS: { status: 409, title: 'This money movement is already recorded' },
  PENDING_TRANSFER_ALREADY_RESOLVED: { status: 409, title: 'The held amount was already settled' },
  PENDING_TRANSFER_NOT_FOUND: { status: 404, title: 'No such held amount' },
  ALREADY_REVERSED: { status: 409, title: 'The transaction was already reversed' },
  INVALID_TRANSFER: { status: 422, title: 'The transfer is not valid' },
});

onConstraintViolation('ck_ledger_accounts_non_negative', () =>
  ledgerError(
    LedgerErrorCode.INSUFFICIENT_FUNDS,
    'The account would go below zero; nothing was recorded.',
  ),
);
onConstraintViolation('uq_ledger_transactions_reference', () =>
  ledgerError(LedgerErrorCode.LEDGER_REFERENCE_EXISTS, 'A transaction with this reference exists.'),
);
onConstraintViolation('uq_ledger_transactions_pending_id', () =>
  ledgerError(
    LedgerErrorCode.PENDING_TRANSFER_ALREADY_RESOLVED,
    'The pending transfer was already posted or voided.',
  ),
);
onConstraintViolation('uq_ledger_transactions_reversal_of', () =>
  ledgerError(LedgerErrorCode.ALREADY_REVERSED, 'The transaction was already reversed.'),
);
