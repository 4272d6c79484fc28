/**
 * What the service asks of the custody bank (DESIGN.md §6). One interface, chosen by
 * configuration: the sandbox bank in development and tests, a bank's own adapter in production.
 * Every transfer is idempotent on our instruction id, which the bank echoes as its end-to-end
 * reference, so asking twice can never pay twice.
 */
export const BANK_GATEWAY = Symbol('BANK_GATEWAY');

export interface BankAccountRef {
  bankCode: string;
  accountNo: string;
  accountName: string;
}

export interface TransferInstruction {
  /** Our id; the bank's end-to-end reference. */
  instructionId: string;
  /** The institution's custody account. */
  fromAccountNo: string;
  to: BankAccountRef;
  amountFen: number;
  purpose: 'settlement' | 'refund';
}

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
