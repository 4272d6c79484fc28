import { Column, Entity, PrimaryColumn } from 'typeorm';
import { fenTransformer } from '../../common/money/fen';
import type { TransactionKind } from '../chart-of-accounts';

@Entity('ledger_transactions')
export class LedgerTransaction {
  @PrimaryColumn('uuid')
  id!: string;

  @Column({ type: 'bigint', transformer: fenTransformer, insert: false, update: false })
  seq!: number;

  @Column('text')
  kind!: TransactionKind;

  @Column('text')
  reference!: string;

  @Column('uuid')
  institutionId!: string;

  @Column('uuid', { nullable: true })
  pendingId!: string | null;

  @Column('text', { nullable: true })
  resolution!: 'post' | 'void' | null;

  @Column('uuid', { nullable: true })
  reversalOf!: string | null;

  @Column('boolean')
  manual!: boolean;

  @Column('jsonb')
  metadata!: Record<string, unknown>;

  @Column('timestamptz')
  createdAt!: Date;

  @Column('timestamptz')
  effectiveAt!: Date;
}
