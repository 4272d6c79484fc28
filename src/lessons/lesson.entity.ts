import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { fenTransformer } from '../common/money/fen';

export const LESSON_STATUSES = [
  'awaiting_confirmation',
  'confirmed',
  'auto_confirmed',
  'disputed',
  'released',
  'refunded',
] as const;
export type LessonStatus = (typeof LESSON_STATUSES)[number];

/**
 * A delivered lesson. Recording it holds its fee (order_escrow → settlement_payable, pending);
 * confirmation or a dispute resolved as `release` posts the hold, `refund` voids it.
 */
@Entity('lessons')
export class Lesson {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column('uuid')
  orderId!: string;

  @Column('uuid')
  institutionId!: string;

  /** 1-based; beyond the order's paid lessons it is a bonus lesson with fee 0. */
  @Column('int')
  sequence!: number;

  @Column('timestamptz')
  deliveredAt!: Date;

  @Column('text', { nullable: true })
  note!: string | null;

  @Column('bigint', { transformer: fenTransformer })
  feeFen!: number;

  @Column('text')
  status!: LessonStatus;

  /** The pending ledger transfer; null for a bonus lesson. */
  @Column('uuid', { nullable: true })
  holdTransactionId!: string | null;

  /** The transaction that posted or voided the hold. */
  @Column('uuid', { nullable: true })
  settleTransactionId!: string | null;

  @Column('timestamptz', { nullable: true })
  confirmedAt!: Date | null;

  @Column('text', { nullable: true })
  confirmedBy!: string | null;

  /** For auto-confirmation: the rule that applied, e.g. `autoConfirmWorkingDays=15`. */
  @Column('text', { nullable: true })
  confirmationRule!: string | null;

  @Column('smallint', { nullable: true })
  rating!: number | null;

  @Column('text', { nullable: true })
  comment!: string | null;

  @Column('text', { nullable: true })
  disputeReason!: string | null;

  @Column('timestamptz', { nullable: true })
  disputedAt!: Date | null;

  @Column('text', { nullable: true })
  resolvedOutcome!: 'release' | 'refund' | null;

  @Column('text', { nullable: true })
  resolvedBy!: string | null;

  @Column('text', { nullable: true })
  resolutionNote!: string | null;

  @Column('timestamptz', { nullable: true })
  resolvedAt!: Date | null;

  @Column('text')
  recordedBy!: string;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt!: Date;
}
