/**
 * Settlement (DESIGN.md rule 9, §5.3): each active institution's released, unsettled lesson fees
 * become one batch and one bank instruction custody → settlement account. The money stays in
 * settlement_payable until the bank confirms; then it leaves custody in the ledger.
 */
import { Injectable, OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { BankInstructionsService } from '../bank/bank-instructions.service';
import { BankInstruction } from '../bank/entities/bank-instruction.entity';
import { sumFen, toFen } from '../common/money/fen';
import { SettlementBatch } from './settlement-batch.entity';

export interface RunSettlementsCommand {
  /** Limit the run to one district (an operator's run); all districts otherwise. */
  districtId?: string;
  /** Limit the run to one institution. */
  institutionId?: string;
  actor: string;
}

@Injectable()
export class RunSettlements implements OnModuleInit {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly instructions: BankInstructionsService,
  ) {}

  onModuleInit(): void {
    this.instructions.registerHandler('settlement', {
      succeeded: (manager, instruction) => this.setStatus(manager, instruction, 'paid'),
      failed: (manager, instruction) => this.setStatus(manager, instruction, 'failed'),
      retried: async (manager, _failed, retry) => {
        await manager.update(SettlementBatch, retry.subjectId, {
          status: 'paying',
          instructionId: retry.id,
        });
      },
    });
  }

  async execute(command: RunSettlementsCommand): Promise<SettlementBatch[]> {
    const institutions: { id: string }[] = await this.dataSource.query(
      `SELECT DISTINCT l.institution_id AS id
       FROM lessons l JOIN institutions i ON i.id = l.institution_id
       WHERE l.settlement_batch_id IS NULL AND l.fee_fen > 0
         AND l.status IN ('confirmed', 'auto_confirmed', 'released')
         AND i.status = 'active'
         AND ($1::text IS NULL OR i.district_id = $1)
         AND ($2::uuid IS NULL OR i.id = $2)`,
      [command.districtId ?? null, command.institutionId ?? null],
    );
    const batches: SettlementBatch[] = [];
    // One institution per transaction: the unit of consistency (DESIGN.md §8).
    for (const { id } of institutions) {
      const batch = await this.dataSource.transaction((manager) =>
        this.settle(manager, id, command.actor),
      );
      if (batch) {
        batches.push(batch);
        await this.instructions.enqueue([batch.instructionId!]);
      }
    }
    return batches;
  }

  private async settle(
    manager: EntityManager,
    institutionId: string,
    actor: string,
  ): Promise<SettlementBatch | undefined> {
    // The institution row lock serialises runs and closure for this institution.
    const [institution]: { district_id: string; status: string }[] = await manager.query(
      'SELECT district_id, status FROM institutions WHERE id = $1 FOR UPDATE',
      [institutionId],
    );
    if (institution?.status !== 'active') return undefined;
    const lessons: { id: string; fee_fen: string }[] = await manager.query(
      `SELECT id, fee_fen FROM lessons
       WHERE institution_id = $1 AND settlement_batch_id IS NULL AND fee_fen > 0
         AND status IN ('confirmed', 'auto_confirmed', 'released')
       ORDER BY id
       FOR UPDATE`,
      [institutionId],
    );
    if (lessons.length === 0) return undefined;
    const amountFen = sumFen(lessons.map((lesson) => toFen(lesson.fee_fen)));
    const [settlement]: { bank_code: string; account_no: string; account_name: string }[] =
      await manager.query(
        `SELECT bank_code, account_no, account_name FROM institution_bank_accounts
         WHERE institution_id = $1 AND kind = 'settlement'`,
        [institutionId],
      );
    const batch = await manager.save(
      manager.create(SettlementBatch, {
        institutionId,
        districtId: institution.district_id,
        amountFen,
        lessonCount: lessons.length,
        status: 'paying',
        createdBy: actor,
        createdAt: new Date(),
      }),
    );
    await manager.query('UPDATE lessons SET settlement_batch_id = $1 WHERE id = ANY($2::uuid[])', [
      batch.id,
      lessons.map((lesson) => lesson.id),
    ]);
    const instruction = await this.instructions.create(manager, {
      purpose: 'settlement',
      subjectId: batch.id,
      institutionId,
      to: {
        bankCode: settlement.bank_code,
        accountNo: settlement.account_no,
        accountName: settlement.account_name,
      },
      amountFen,
      createdBy: actor,
    });
    batch.instructionId = instruction.id;
    await manager.update(SettlementBatch, batch.id, { instructionId: instruction.id });
    return batch;
  }

  private async setStatus(
    manager: EntityManager,
    instruction: BankInstruction,
    status: 'paid' | 'failed',
  ): Promise<void> {
    await manager.update(SettlementBatch, instruction.subjectId, {
      status,
      paidAt: status === 'paid' ? new Date() : null,
    });
  }
}
