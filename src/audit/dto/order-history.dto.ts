import { ApiProperty } from '@nestjs/swagger';
import { ACCOUNT_CODES, AccountCode, TRANSACTION_KINDS } from '../../ledger/chart-of-accounts';
import type { PostingPhase } from '../../ledger/entities/ledger-posting.entity';
import { ORDER_STATUSES, OrderStatus } from '../../orders/entities/order.entity';
import { ORDER_EVENT_TYPES, OrderEventType } from '../order-history.service';

export class HistoryOrderDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ format: 'uuid' }) institutionId!: string;
  @ApiProperty({ format: 'uuid' }) courseId!: string;
  @ApiProperty({ example: 'parent-1' }) parentId!: string;
  @ApiProperty({ example: '王小明' }) studentName!: string;
  @ApiProperty({ enum: ORDER_STATUSES, example: 'active' }) status!: OrderStatus;
  @ApiProperty({ type: 'integer', example: 20 }) lessonsPaid!: number;
  @ApiProperty({ type: 'integer', example: 2 }) bonusLessons!: number;
  @ApiProperty({ type: 'integer', example: 80_000 }) amountFen!: number;
  @ApiProperty({ example: 'ELMZXW6YTBOI3DPNRSGK4ZAB' }) paymentReference!: string;
  @ApiProperty({ format: 'uuid' }) escrowAccountId!: string;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ format: 'date-time', nullable: true }) paidAt!: string | null;
}

export class EscrowNowDto {
  @ApiProperty({ type: 'integer', example: 72_000, description: 'unconsumed, posted' })
  postedFen!: number;
  @ApiProperty({ type: 'integer', example: 4_000, description: 'held for recorded lessons' })
  pendingDebitsFen!: number;
  @ApiProperty({ type: 'integer', example: 68_000 }) availableFen!: number;
}

export class OrderEventDto {
  @ApiProperty({ format: 'date-time', example: '2026-03-01T08:00:00.123456Z' }) at!: string;
  @ApiProperty({ enum: ORDER_EVENT_TYPES, example: 'lesson_confirmed' }) type!: OrderEventType;
  @ApiProperty({ example: 'parent-1', description: 'who: a user id, bank or system' })
  actor!: string;
  @ApiProperty({ format: 'uuid', nullable: true }) lessonId!: string | null;
  @ApiProperty({ format: 'uuid', nullable: true, description: 'the ledger transaction it booked' })
  transactionId!: string | null;
  @ApiProperty({ type: 'integer', nullable: true, example: 4_000 }) amountFen!: number | null;
  @ApiProperty({ type: 'object', additionalProperties: true, example: { rating: 5 } })
  details!: Record<string, unknown>;
}

export class HistoryPostingDto {
  @ApiProperty({ example: '1042' }) postingId!: string;
  @ApiProperty({ format: 'uuid' }) accountId!: string;
  @ApiProperty({ enum: ACCOUNT_CODES, example: 'order_escrow' }) accountCode!: AccountCode;
  @ApiProperty({ format: 'uuid', nullable: true }) orderId!: string | null;
  @ApiProperty({ enum: ['posted', 'pending', 'resolved'], example: 'posted' })
  phase!: PostingPhase;
  @ApiProperty({ type: 'integer', example: 0 }) debitFen!: number;
  @ApiProperty({ type: 'integer', example: 80_000 }) creditFen!: number;
  @ApiProperty({ format: 'date-time' }) recordedAt!: string;
}

export class HistoryTransactionDto {
  @ApiProperty({ format: 'uuid' }) transactionId!: string;
  @ApiProperty({ type: 'integer', example: 518 }) seq!: number;
  @ApiProperty({ enum: TRANSACTION_KINDS, example: 'payment_received' }) kind!: string;
  @ApiProperty({ example: 'payment:TXN8842' }) reference!: string;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ format: 'date-time' }) effectiveAt!: string;
  @ApiProperty({ example: false }) manual!: boolean;
  @ApiProperty({ format: 'uuid', nullable: true }) pendingId!: string | null;
  @ApiProperty({ enum: ['post', 'void'], nullable: true }) resolution!: 'post' | 'void' | null;
  @ApiProperty({ format: 'uuid', nullable: true }) reversalOf!: string | null;
  @ApiProperty({ type: 'object', additionalProperties: true, example: { lessonId: '…' } })
  metadata!: Record<string, unknown>;
  @ApiProperty({
    type: 'integer',
    nullable: true,
    example: 12,
    description: 'the seal block holding it; null until sealed',
  })
  sealedInBlock!: number | null;
  @ApiProperty({ type: [HistoryPostingDto] }) postings!: HistoryPostingDto[];
}

export class OrderHistoryDto {
  @ApiProperty({ type: HistoryOrderDto }) order!: HistoryOrderDto;
  @ApiProperty({ type: EscrowNowDto, description: "the order's escrow account now" })
  escrow!: EscrowNowDto;
  @ApiProperty({ type: [OrderEventDto], description: 'business events, oldest first' })
  events!: OrderEventDto[];
  @ApiProperty({ type: [HistoryTransactionDto], description: 'ledger transactions, by seq' })
  transactions!: HistoryTransactionDto[];
}
