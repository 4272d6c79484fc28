import { Column, Entity, PrimaryColumn } from 'typeorm';
import { fenTransformer } from '../../common/money/fen';

export type InstructionPurpose = 'settlement' | 'refund';
export type InstructionStatus = 'pending' | 'submitted' | 'succeeded' | 'failed';

/**
 * A transfer out of a custody account, written in the same transaction as the posting that
 * needs it (the outbox). Its id is the bank's end-to-end reference.
 */
@Entity('bank_instructions')
export class BankInstruction {
  @PrimaryColumn('uuid')
  id!: string;

  @Column('text')
  purpose!: InstructionPurpose;

  /** The settlement batch or refund it pays. */
  @Column('uuid')
  subjectId!: string;

  @Column('uuid')
  institutionId!: string;

  @Column('text')
  fromAccountNo!: string;

  @Column('text')
  toBankCode!: string;

  @Column('text')
  toAccountNo!: string;

  @Column('text')
  toAccountName!: string;

  @Column('bigint', { transformer: fenTransformer })
  amountFen!: number;

  @Column('text')
  status!: InstructionStatus;

  @Column('int')
  attempts!: number;

  @Column('text', { nullable: true })
  lastError!: string | null;

  @Column('text', { nullable: true })
  bankTxnId!: string | null;

  @Column('text', { nullable: true })
  failureReason!: string | null;

  @Column('uuid', { nullable: true })
  completionTransactionId!: string | null;

  /** The failed instruction this one retries. */
  @Column('uuid', { nullable: true })
  retryOf!: string | null;

  @Column('text')
  createdBy!: string;

  @Column('timestamptz')
  createdAt!: Date;

  @Column('timestamptz')
  updatedAt!: Date;

  @Column('timestamptz', { nullable: true })
  submittedAt!: Date | null;

  @Column('timestamptz', { nullable: true })
  completedAt!: Date | null;
}
