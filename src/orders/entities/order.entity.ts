import {
  Column,
  CreateDateColumn,
  Entity,
  PrimaryGeneratedColumn,
  UpdateDateColumn,
} from 'typeorm';
import { fenTransformer } from '../../common/money/fen';

export const ORDER_STATUSES = [
  'pending_payment',
  'active',
  'completed',
  'refunding',
  'refunded',
  'cancelled',
] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];

/** The model contract every purchase is made under (GF—2021—2604). */
export const CONTRACT_VERSION = 'GF-2021-2604';

@Entity('orders')
export class Order {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column('uuid')
  institutionId!: string;

  @Column('text')
  districtId!: string;

  @Column('uuid')
  courseId!: string;

  /** The parent's `sub`. */
  @Column('text')
  parentId!: string;

  @Column('text')
  studentName!: string;

  @Column('int')
  lessonsPaid!: number;

  @Column('int')
  bonusLessons!: number;

  @Column('bigint', { transformer: fenTransformer })
  lessonPriceFen!: number;

  @Column('bigint', { transformer: fenTransformer })
  amountFen!: number;

  @Column('text')
  paymentReference!: string;

  @Column('text')
  contractVersion!: string;

  @Column('text')
  status!: OrderStatus;

  @Column('uuid')
  escrowAccountId!: string;

  @Column('text', { nullable: true })
  payerBankCode!: string | null;

  @Column('text', { nullable: true })
  payerAccountNo!: string | null;

  @Column('text', { nullable: true })
  payerAccountName!: string | null;

  @Column('timestamptz', { nullable: true })
  paidAt!: Date | null;

  @Column('date')
  firstLessonOn!: string;

  @Column('date')
  lastLessonOn!: string;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ type: 'timestamptz' })
  updatedAt!: Date;
}
