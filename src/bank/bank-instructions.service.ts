/**
 * The outbox of transfers out of custody. An instruction is written inside the transaction that
 * moves the money to a payable account, handed to the queue after commit, submitted to the bank
 * by a worker (idempotent on its id), and completed exactly once — by the worker's answer or the
 * bank's notification, whichever comes first. A sweeper hands the queue whatever it lost.
 */
import { InjectQueue } from '@nestjs/bull';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Queue } from 'bull';
import { randomUUID } from 'node:crypto';
import { DataSource, EntityManager } from 'typeorm';
import { Principal } from '../auth/principal';
import { OperatorExceptionsService } from '../exceptions/operator-exceptions.service';
import { LedgerService } from '../ledger/ledger.service';
import { JobName, QueueName } from '../queues/queues';
import {
  BANK_GATEWAY,
  BankAccountRef,
  BankGateway,
  BankRejectedError,
  TransferResult,
  endToEndIdOf,
} from './bank-gateway';
import { BankErrorCode, bankError } from './bank.errors';
import { BankInstruction, InstructionPurpose } from './entities/bank-instruction.entity';

/** What the owner of a batch or refund does when its instruction ends. */
export interface InstructionOutcomeHandler {
  succeeded(manager: EntityManager, instruction: BankInstruction): Promise<void>;
  failed(manager: EntityManager, instruction: BankInstruction): Promise<void>;
  /** An operator retried a failed instruction with a new one. */
  retried(manager: EntityManager, failed: BankInstruction, retry: BankInstruction): Promise<void>;
}

export interface NewInstruction {
  purpose: InstructionPurpose;
  subjectId: string;
  institutionId: string;
  to: BankAccountRef;
  amountFen: number;
  createdBy: string;
  retryOf?: string;
}

export interface SubmitInstructionJob {
  instructionId: string;
}

const ENQUEUE_TIMEOUT_MS = 1_000;
const PAYABLE = { settlement: 'settlement_payable', refund: 'refund_payable' } as const;
const PAID_KIND = { settlement: 'settlement_paid', refund: 'refund_paid' } as const;

@Injectable()
export class BankInstructionsService {
  private readonly logger = new Logger(BankInstructionsService.name);
  private readonly handlers = new Map<InstructionPurpose, InstructionOutcomeHandler>();

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @InjectQueue(QueueName.BankInstructions) private readonly queue: Queue<SubmitInstructionJob>,
    @Inject(BANK_GATEWAY) private readonly gateway: BankGateway,
    private readonly ledger: LedgerService,
    private readonly exceptions: OperatorExceptionsService,
  ) {}

  registerHandler(purpose: InstructionPurpose, handler: InstructionOutcomeHandler): void {
    this.handlers.set(purpose, handler);
  }

  /** Writes an instruction in the caller's transaction; `enqueue` it after commit. */
  async create(manager: EntityManager, input: NewInstruction): Promise<BankInstruction> {
    const [custody]: { account_no: string }[] = await manager.query(
      `SELECT account_no FROM institution_bank_accounts WHERE institution_id = $1 AND kind = 'custody'`,
      [input.institutionId],
    );
    return manager.save(
      manager.create(BankInstruction, {
        id: randomUUID(),
        purpose: input.purpose,
        subjectId: input.subjectId,
        institutionId: input.institutionId,
        fromAccountNo: custody.account_no,
        toBankCode: input.to.bankCode,
        toAccountNo: input.to.accountNo,
        toAccountName: input.to.accountName,
        amountFen: input.amountFen,
        status: 'pending',
        attempts: 0,
        createdBy: input.createdBy,
        retryOf: input.retryOf ?? null,
      }),
    );
  }

  /**
   * Hands committed instructions to the queue (job id = instruction id, so twice is once). When
   * Redis is unreachable the request still succeeds: the instruction is safe in PostgreSQL and
   * the sweeper enqueues it when Redis is back.
   */
  async enqueue(instructionIds: string[]): Promise<void> {
    for (const instructionId of instructionIds) {
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          this.queue.add(JobName.SubmitInstruction, { instructionId }, { jobId: instructionId }),
          new Promise((_, reject) => {
            timer = setTimeout(() => reject(new Error('queue timeout')), ENQUEUE_TIMEOUT_MS);
          }),
        ]);
      } catch (error) {
        this.logger.warn({ instructionId, err: error }, 'enqueue failed; the sweeper will retry');
      } finally {
        clearTimeout(timer);
      }
    }
  }

  /**
   * One worker attempt: mark submitted (committed before the bank is called, so a crash leaves a
   * trace), submit, record the answer. Transient failures are rethrown for the queue's backoff.
   */
  async submit(instructionId: string): Promise<void> {
    const instruction = await this.dataSource.transaction(async (manager) => {
      const locked = await this.lock(manager, instructionId);
      if (!locked || locked.status === 'succeeded' || locked.status === 'failed') return undefined;
      await manager.update(BankInstruction, instructionId, {
        status: 'submitted',
        attempts: locked.attempts + 1,
        submittedAt: new Date(),
        updatedAt: new Date(),
      });
      return locked;
    });
    if (!instruction) return;
    let result: TransferResult;
    try {
      result = await this.gateway.submitTransfer({
        instructionId,
        endToEndId: endToEndIdOf(instructionId),
        fromAccountNo: instruction.fromAccountNo,
        to: {
          bankCode: instruction.toBankCode,
          accountNo: instruction.toAccountNo,
          accountName: instruction.toAccountName,
        },
        amountFen: instruction.amountFen,
        purpose: instruction.purpose,
      });
    } catch (error) {
      if (error instanceof BankRejectedError) {
        // Refused as a request; but if the bank holds something under this id, its word stands.
        const known = await this.gateway.getTransfer(instructionId);
        await this.dataSource.transaction((manager) =>
          this.complete(
            manager,
            instructionId,
            known && known.state !== 'accepted'
              ? { state: known.state, bankTxnId: known.bankTxnId, reason: known.reason }
              : { state: 'failed', reason: error.message },
          ),
        );
        return;
      }
      await this.dataSource.query(
        `UPDATE bank_instructions SET last_error = $2, updated_at = now() WHERE id = $1`,
        [instructionId, String((error as Error).message ?? error).slice(0, 500)],
      );
      throw error;
    }
    if (result.state === 'accepted') return; // the notification, or the next sweep, finishes it
    await this.dataSource.transaction((manager) =>
      this.complete(manager, instructionId, {
        state: result.state as 'succeeded' | 'failed',
        bankTxnId: result.bankTxnId,
        reason: result.reason,
      }),
    );
  }

  /**
   * Records the bank's final word once: on success the payable is paid out of custody in the
   * ledger; on failure the money stays in the payable and an operator is told. Later words about
   * the same instruction change nothing.
   */
  async complete(
    manager: EntityManager,
    instructionId: string,
    outcome: { state: 'succeeded' | 'failed'; bankTxnId?: string; reason?: string },
  ): Promise<BankInstruction | undefined> {
    const instruction = await this.lock(manager, instructionId);
    if (!instruction) return undefined;
    if (instruction.status === 'succeeded' || instruction.status === 'failed') {
      if (instruction.status !== (outcome.state === 'succeeded' ? 'succeeded' : 'failed')) {
        await this.exceptions.raise(manager, {
          kind: 'instruction_mismatch',
          subjectId: `${instructionId}:${outcome.state}`,
          districtId: await this.districtOf(manager, instruction.institutionId),
          institutionId: instruction.institutionId,
          amountFen: instruction.amountFen,
          details: { instructionId, recorded: instruction.status, bankSays: outcome },
        });
      }
      return instruction;
    }
    const handler = this.handlers.get(instruction.purpose);
    if (outcome.state === 'succeeded') {
      const accounts = await this.ledger.institutionAccounts(manager, instruction.institutionId);
      const completionTransactionId = await this.ledger.post(manager, {
        kind: PAID_KIND[instruction.purpose],
        reference: `instruction:${instructionId}:paid`,
        institutionId: instruction.institutionId,
        metadata: {
          instructionId,
          purpose: instruction.purpose,
          subjectId: instruction.subjectId,
          bankTxnId: outcome.bankTxnId ?? null,
        },
        transfers: [
          {
            debitAccountId: accounts[PAYABLE[instruction.purpose]],
            creditAccountId: accounts.custody_cash,
            amountFen: instruction.amountFen,
          },
        ],
      });
      Object.assign(instruction, {
        status: 'succeeded',
        bankTxnId: outcome.bankTxnId ?? null,
        completionTransactionId,
        completedAt: new Date(),
        updatedAt: new Date(),
      });
      await manager.save(instruction);
      await handler?.succeeded(manager, instruction);
    } else {
      Object.assign(instruction, {
        status: 'failed',
        failureReason: outcome.reason ?? 'failed',
        completedAt: new Date(),
        updatedAt: new Date(),
      });
      await manager.save(instruction);
      await this.exceptions.raise(manager, {
        kind: 'instruction_failed',
        subjectId: instructionId,
        districtId: await this.districtOf(manager, instruction.institutionId),
        institutionId: instruction.institutionId,
        amountFen: instruction.amountFen,
        details: {
          purpose: instruction.purpose,
          subjectId: instruction.subjectId,
          reason: instruction.failureReason,
          to: { bankCode: instruction.toBankCode, accountNo: instruction.toAccountNo },
        },
      });
      await handler?.failed(manager, instruction);
    }
    return instruction;
  }

  /**
   * The bank reversed a transfer that had succeeded (found by reconciliation): the instruction is
   * failed with the reason, in the caller's transaction, so that an operator may retry it. The
   * caller holds the instruction's lock and reverses its completion in the ledger.
   */
  async reopen(manager: EntityManager, instructionId: string, reason: string): Promise<void> {
    await manager.query(
      `UPDATE bank_instructions SET status = 'failed', failure_reason = $2, updated_at = now()
       WHERE id = $1`,
      [instructionId, reason],
    );
  }

  /**
   * The bank's transfer_succeeded / transfer_failed notification. It completes the instruction
   * only when it agrees with what we instructed (account and amount); otherwise an operator looks.
   */
  async completeFromNotification(
    manager: EntityManager,
    notification: {
      eventId: string;
      type: 'transfer_succeeded' | 'transfer_failed';
      reference: string;
      accountNo: string;
      amountFen: number;
      bankTxnId: string;
      reason?: string;
    },
  ): Promise<'completed' | 'unknown_instruction' | 'mismatch'> {
    const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
    const instruction = uuid.test(notification.reference)
      ? await manager.findOneBy(BankInstruction, { id: notification.reference })
      : null;
    if (!instruction) {
      await this.exceptions.raise(manager, {
        kind: 'unknown_instruction',
        subjectId: notification.eventId,
        districtId: null,
        institutionId: null,
        amountFen: notification.amountFen,
        details: { ...notification },
      });
      return 'unknown_instruction';
    }
    if (
      instruction.fromAccountNo !== notification.accountNo ||
      instruction.amountFen !== notification.amountFen
    ) {
      await this.exceptions.raise(manager, {
        kind: 'instruction_mismatch',
        subjectId: notification.eventId,
        districtId: await this.districtOf(manager, instruction.institutionId),
        institutionId: instruction.institutionId,
        amountFen: notification.amountFen,
        details: {
          ...notification,
          instructed: { accountNo: instruction.fromAccountNo, amountFen: instruction.amountFen },
        },
      });
      return 'mismatch';
    }
    await this.complete(manager, instruction.id, {
      state: notification.type === 'transfer_succeeded' ? 'succeeded' : 'failed',
      bankTxnId: notification.bankTxnId,
      reason: notification.reason,
    });
    return 'completed';
  }

  /**
   * Re-enqueues unfinished instructions the queue no longer holds (lost by Redis, or a crash);
   * all of them, or one institution's.
   */
  async sweep(olderThanMs = 30_000, institutionId?: string): Promise<number> {
    const rows: { id: string }[] = await this.dataSource.query(
      `SELECT id FROM bank_instructions
       WHERE status IN ('pending', 'submitted') AND updated_at < now() - make_interval(secs => $1)
         AND ($2::uuid IS NULL OR institution_id = $2)
       ORDER BY updated_at LIMIT 500`,
      [olderThanMs / 1000, institutionId ?? null],
    );
    let handed = 0;
    for (const { id } of rows) {
      const job = await this.queue.getJob(id);
      const state = job ? await job.getState() : undefined;
      if (state === 'waiting' || state === 'active' || state === 'delayed') continue;
      await job?.remove();
      await this.queue.add(JobName.SubmitInstruction, { instructionId: id }, { jobId: id });
      handed += 1;
    }
    return handed;
  }

  /** An operator retries a failed instruction, optionally to a corrected account. */
  async retry(
    principal: Principal,
    instructionId: string,
    to: BankAccountRef | undefined,
  ): Promise<BankInstruction> {
    const retry = await this.dataSource.transaction(async (manager) => {
      const failed = await manager
        .createQueryBuilder(BankInstruction, 'b')
        .innerJoin('institutions', 'i', 'i.id = b.institution_id')
        .where('b.id = :instructionId AND i.district_id = :districtId', {
          instructionId,
          districtId: principal.districtId,
        })
        .setLock('pessimistic_write', undefined, ['b'])
        .getOne();
      if (!failed) {
        throw bankError(BankErrorCode.INSTRUCTION_NOT_FOUND, 'No instruction with this id.');
      }
      if (failed.status !== 'failed') {
        throw bankError(
          BankErrorCode.INSTRUCTION_NOT_FAILED,
          `The instruction is ${failed.status}.`,
        );
      }
      const created = await this.create(manager, {
        purpose: failed.purpose,
        subjectId: failed.subjectId,
        institutionId: failed.institutionId,
        to: to ?? {
          bankCode: failed.toBankCode,
          accountNo: failed.toAccountNo,
          accountName: failed.toAccountName,
        },
        amountFen: failed.amountFen,
        createdBy: principal.sub,
        retryOf: failed.id,
      });
      await this.handlers.get(failed.purpose)?.retried(manager, failed, created);
      return created;
    });
    await this.enqueue([retry.id]);
    return retry;
  }

  private lock(manager: EntityManager, id: string): Promise<BankInstruction | null> {
    return manager
      .createQueryBuilder(BankInstruction, 'b')
      .setLock('pessimistic_write')
      .where('b.id = :id', { id })
      .getOne();
  }

  private async districtOf(manager: EntityManager, institutionId: string): Promise<string | null> {
    const [row]: { district_id: string }[] = await manager.query(
      'SELECT district_id FROM institutions WHERE id = $1',
      [institutionId],
    );
    return row?.district_id ?? null;
  }
}
