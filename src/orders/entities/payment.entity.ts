import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { fenTransformer } from '../../common/money/fen';

export const PAYMENT_OUTCOMES = [
  'matched',
  'unknown_reference',
  'amount_mismatch',
  'wrong_account',
  'order_not_payable',
  'unknown_account',
] as const;
export type PaymentOutcome = (typeof PAYMENT_OUTCOMES)[number];

/** Money the bank says arrived in a custody account, and where the ledger put it. */
@Entity('payments')
export class Payment {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column('text')
  eventId!: string;

  @Column('text')
  bankTxnId!: string;

  @Column('uuid', { nullable: true })
  institutionId!: string | null;

  @Column('uuid', { nullable: true })
  orderId!: string | null;

  @Column('text')
  accountNo!: string;

  @Column('bigint', { transformer: fenTransformer })
  amountFen!: number;

  @Column('text')
  reference!: string;

  @Column('text', { nullable: true })
  payerBankCode!: string | null;

  @Column('text', { nullable: true })
  payerAccountNo!: string | null;

  @Column('text', { nullable: true })
  payerAccountName!: string | null;

  @Column('text')
  outcome!: PaymentOutcome;

  @Column('uuid', { nullable: true })
  ledgerTransactionId!: string | null;

  @Column('timestamptz')
  occurredAt!: Date;

  @Column('timestamptz')
  receivedAt!: Date;
}
