/**
 * An in-memory BankGateway for tests of the outbox logic that need exact control of each call.
 * End-to-end tests use the sandbox bank instead.
 */
import {
  BankGateway,
  BankRejectedError,
  BankUnavailableError,
  TransferInstruction,
  TransferResult,
} from '../../src/bank/bank-gateway';

export class FakeBankGateway implements BankGateway {
  readonly executed = new Map<string, TransferResult>();
  calls = 0;
  failNext = 0;
  rejectNext = 0;
  /** Execute, but answer `accepted` (the notification brings the result). */
  acceptOnly = false;
  /** Execute as failed (e.g. the beneficiary account is closed). */
  failTransfers = false;

  submitTransfer(instruction: TransferInstruction): Promise<TransferResult> {
    this.calls += 1;
    if (this.failNext > 0) {
      this.failNext -= 1;
      return Promise.reject(new BankUnavailableError('503 from the fake bank'));
    }
    if (this.rejectNext > 0) {
      this.rejectNext -= 1;
      return Promise.reject(new BankRejectedError('400 from the fake bank'));
    }
    let result = this.executed.get(instruction.instructionId);
    if (!result) {
      result = this.failTransfers
        ? {
            instructionId: instruction.instructionId,
            state: 'failed',
            reason: 'beneficiary account closed',
          }
        : {
            instructionId: instruction.instructionId,
            state: 'succeeded',
            bankTxnId: `FAKE${this.executed.size + 1}`,
          };
      this.executed.set(instruction.instructionId, result);
    }
    return Promise.resolve(this.acceptOnly ? { ...result, state: 'accepted' } : result);
  }

  getTransfer(instructionId: string): Promise<TransferResult | null> {
    return Promise.resolve(this.executed.get(instructionId) ?? null);
  }

  fetchStatement(): Promise<Buffer> {
    return Promise.resolve(Buffer.from(''));
  }
}
