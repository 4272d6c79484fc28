import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';
import { fenTransformer } from '../../common/money/fen';
import type { AccountCode, AccountType } from '../chart-of-accounts';

/** Read model of an account. Its totals are written only by the database's posting trigger. */
@Entity('ledger_accounts')
export class LedgerAccount {
  @PrimaryColumn('uuid')
  id!: string;

  @Column('text')
  code!: AccountCode;

  @Column('text')
  type!: AccountType;

  @Column('uuid')
  institutionId!: string;

  @Column('uuid', { nullable: true })
  orderId!: string | null;

  @Column('char', { length: 3 })
  currency!: 'CNY';

  @Column('boolean')
  nonNegative!: boolean;

  @Column('bigint', { transformer: fenTransformer })
  postedDebits!: number;

  @Column('bigint', { transformer: fenTransformer })
  postedCredits!: number;

  @Column('bigint', { transformer: fenTransformer })
  pendingDebits!: number;

  @Column('bigint', { transformer: fenTransformer })
  pendingCredits!: number;

  @Column('bigint', { transformer: fenTransformer })
  version!: number;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt!: Date;
}
