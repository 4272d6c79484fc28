/**
 * What the service asks of the custody bank (DESIGN.md §6). One interface, chosen by
 * configuration: the sandbox bank in development and tests, a bank's own adapter in production.
 * Every transfer is idempotent on our instruction id, so asking twice can never pay twice; the
 * bank echoes its end-to-end reference (the id in 32 hex digits) on its statements.
 */
export const BANK_GATEWAY = Symbol('BANK_GATEWAY');

export interface BankAccountRef {
  bankCode: string;
  accountNo: string;
  accountName: string;
}

export interface TransferInstruction {
  /** Our id: the bank keeps one transfer per id, so asking twice never pays twice. */
  instructionId: string;
  /**
   * The end-to-end reference the bank carries through to its statements (ISO 20022 EndToEndId,
   * at most 35 characters): endToEndIdOf(instructionId).
   */
  endToEndId: string;
  /** The institution's custody account. */
  fromAccountNo: string;
  to: BankAccountRef;
  amountFen: number;
  purpose: 'settlement' | 'refund';
}

/**
 * An instruction's end-to-end reference: its UUID as 32 hex digits, since ISO 20022 allows 35
 * characters and a UUID written with hyphens has 36. Reconciliation reads either form back.
 */
export const endToEndIdOf = (instructionId: string): string => instructionId.replace(/-/g, '');

export type TransferState = 'accepted' | 'succeeded' | 'failed';

export interface TransferResult {
  instructionId: string;
  state: TransferState;
  /** The bank's own transaction id, once executed. */
  bankTxnId?: string;
  /** Why it failed. */
  reason?: string;
}

export type StatementFormat = 'camt053' | 'csv';

export interface BankGateway {
  /** Submits (or re-submits) an instruction; the same id returns the first outcome. */
  submitTransfer(instruction: TransferInstruction): Promise<TransferResult>;
  /** The bank's view of an instruction, or null when it never received it. */
  getTransfer(instructionId: string): Promise<TransferResult | null>;
  /** A statement of `accountNo` for the days `from`..`to` (ISO dates, inclusive). */
  fetchStatement(
    accountNo: string,
    from: string,
    to: string,
    format: StatementFormat,
  ): Promise<Buffer>;
}

/** The bank could not be reached or answered 5xx/timeout: retrying may help. */
export class BankUnavailableError extends Error {}

/** The bank refused the request itself (4xx): retrying the same request will not help. */
export class BankRejectedError extends Error {}
