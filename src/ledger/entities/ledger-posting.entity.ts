import { Column, Entity, PrimaryColumn } from 'typeorm';
import { fenTransformer } from '../../common/money/fen';

export type PostingPhase = 'posted' | 'pending' | 'resolved';

/** One leg of a ledger transaction; append-only. Debit > 0, credit < 0, integer fen. */
@Entity('ledger_postings')
export class LedgerPosting {
  @PrimaryColumn('bigint', { transformer: fenTransformer })
  id!: number;

  @Column('uuid')
  transactionId!: string;

  @Column('uuid')
  accountId!: string;

  @Column('text')
  phase!: PostingPhase;

  @Column('bigint', { transformer: fenTransformer })
  amount!: number;

  @Column('bigint', { transformer: fenTransformer })
  accountVersion!: number;

  @Column('bigint', { transformer: fenTransformer })
  postedDebitsAfter!: number;

  @Column('bigint', { transformer: fenTransformer })
  postedCreditsAfter!: number;

  @Column('bigint', { transformer: fenTransformer })
  pendingDebitsAfter!: number;

  @Column('bigint', { transformer: fenTransformer })
  pendingCreditsAfter!: number;

  @Column('timestamptz')
  recordedAt!: Date;
}
