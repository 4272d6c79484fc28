import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { fenTransformer } from '../common/money/fen';

export type SettlementStatus = 'paying' | 'paid' | 'failed';

/** Released lesson fees of one institution, paid custody → settlement account in one transfer. */
@Entity('settlement_batches')
export class SettlementBatch {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column('uuid')
  institutionId!: string;

  @Column('text')
  districtId!: string;

  @Column('bigint', { transformer: fenTransformer })
  amountFen!: number;

  @Column('int')
  lessonCount!: number;

  @Column('text')
  status!: SettlementStatus;

  @Column('uuid', { nullable: true })
  instructionId!: string | null;

  @Column('text')
  createdBy!: string;

  @Column('timestamptz')
  createdAt!: Date;

  @Column('timestamptz', { nullable: true })
  paidAt!: Date | null;
}
