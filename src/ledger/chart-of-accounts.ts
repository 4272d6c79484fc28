/** The chart of accounts (DESIGN.md §4): per institution, order_escrow per order. */
export const ACCOUNT_CODES = [
  'custody_cash',
  'order_escrow',
  'settlement_payable',
  'refund_payable',
  'suspense',
  'interest',
] as const;
export type AccountCode = (typeof ACCOUNT_CODES)[number];
export type AccountType = 'asset' | 'liability';

export const ACCOUNT_TYPES: Record<AccountCode, AccountType> = {
  custody_cash: 'asset',
  order_escrow: 'liability',
  settlement_payable: 'liability',
  refund_payable: 'liability',
  suspense: 'liability',
  interest: 'liability',
};

/** Accounts every institution has from registration on (order_escrow comes with each order). */
export const INSTITUTION_ACCOUNT_CODES: AccountCode[] = ACCOUNT_CODES.filter(
  (code) => code !== 'order_escrow',
);

/** What a ledger transaction records; features pick from this list. */
export const TRANSACTION_KINDS = [
  'payment_received',
  'payment_unmatched',
  'lesson_hold',
  'lesson_release',
  'lesson_void',
  'settlement_paid',
  'refund_requested',
  'refund_approved',
  'refund_declined',
  'refund_paid',
  'manual_adjustment',
  'reversal',
] as const;
export type TransactionKind = (typeof TRANSACTION_KINDS)[number];
