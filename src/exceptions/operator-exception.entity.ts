import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { fenTransformer } from '../common/money/fen';

export type OperatorExceptionKind =
  'unmatched_payment' | 'unknown_instruction' | 'instruction_failed' | 'instruction_mismatch';

/** Something an operator must look at: money that did not match, an instruction that failed. */
@Entity('operator_exceptions')
export class OperatorException {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column('text')
  kind!: OperatorExceptionKind;

  @Column('text')
  status!: 'open' | 'resolved';

  @Column('text', { nullable: true })
  districtId!: string | null;

  @Column('uuid', { nullable: true })
  institutionId!: string | null;

  /** What it is about (a payment id, an instruction id); unique per kind. */
  @Column('text')
  subjectId!: string;

  @Column('bigint', { transformer: fenTransformer, nullable: true })
  amountFen!: number | null;

  @Column('jsonb')
  details!: Record<string, unknown>;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt!: Date;

  @Column('timestamptz', { nullable: true })
  resolvedAt!: Date | null;

  @Column('text', { nullable: true })
  resolvedBy!: string | null;

  @Column('text', { nullable: true })
  resolutionNote!: string | null;
}
