import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { fenTransformer } from '../common/money/fen';

export const PARENT_REFUND_REASONS = ['before_start', 'mid_course', 'cooling_off'] as const;
export const REFUND_REASONS = [
  ...PARENT_REFUND_REASONS,
  'institution_default',
  'closure',
  'over_cap',
  'dispute',
] as const;
export type RefundReason = (typeof REFUND_REASONS)[number];

export type RefundStatus =
  'requested' | 'rejected' | 'approved' | 'paying' | 'paid' | 'failed' | 'declined';

export type ApprovedVia = 'institution' | 'silence' | 'operator' | 'automatic';

/**
 * Money going back to a parent. Requesting holds the amount (order_escrow → refund_payable,
 * pending), so no lesson can take it; approval posts the hold and instructs the bank to pay the
 * payer's original account; a final refusal voids it.
 */
@Entity('refunds')
export class Refund {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column('uuid')
  orderId!: string;

  @Column('uuid')
  institutionId!: string;

  @Column('text')
  districtId!: string;

  @Column('text')
  parentId!: string;

  @Column('text')
  reason!: RefundReason;

  @Column('text', { nullable: true })
  note!: string | null;

  @Column('bigint', { transformer: fenTransformer })
  amountFen!: number;

  @Column('text')
  status!: RefundStatus;

  @Column('text')
  requestedBy!: string;

  @Column('timestamptz')
  requestedAt!: Date;

  /** The institution's deadline to answer; silence until then approves (DESIGN.md rule 13). */
  @Column('date', { nullable: true })
  respondBy!: string | null;

  /** When the money must be back with the parent (DESIGN.md rule 14). */
  @Column('date', { nullable: true })
  dueOn!: string | null;

  @Column('uuid', { nullable: true })
  holdTransactionId!: string | null;

  @Column('uuid', { nullable: true })
  approvalTransactionId!: string | null;

  @Column('text', { nullable: true })
  decidedBy!: string | null;

  @Column('timestamptz', { nullable: true })
  decidedAt!: Date | null;

  @Column('text', { nullable: true })
  approvedVia!: ApprovedVia | null;

  @Column('text', { nullable: true })
  rejectionReason!: string | null;

  @Column('text', { nullable: true })
  operatorNote!: string | null;

  @Column('uuid', { nullable: true })
  instructionId!: string | null;

  @Column('timestamptz', { nullable: true })
  paidAt!: Date | null;
}
