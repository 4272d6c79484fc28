/**
 * Everything that happened to one order: its business events (placed, paid; each lesson recorded,
 * confirmed, disputed, resolved, settled; each refund requested, decided, paid) in time order, and
 * every ledger transaction that concerns it with all its postings and the seal block that holds it.
 */
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { Principal } from '../auth/principal';
import { toFen } from '../common/money/fen';
import { cursorTimeSql } from '../common/pagination/cursor';
import type { AccountCode } from '../ledger/chart-of-accounts';
import type { PostingPhase } from '../ledger/entities/ledger-posting.entity';
import { balanceOf } from '../ledger/ledger.service';
import type { OrderStatus } from '../orders/entities/order.entity';
import { AuditErrorCode, auditError } from './audit.errors';
import { districtOf, safeInteger } from './audit-scope';
import { orderTransactionIdsSql } from './order-transactions';

export const ORDER_EVENT_TYPES = [
  'order_placed',
  'payment_received',
  'lesson_recorded',
  'lesson_confirmed',
  'lesson_auto_confirmed',
  'lesson_disputed',
  'dispute_resolved',
  'lesson_settled',
  'refund_requested',
  'refund_rejected',
  'refund_approved',
  'refund_declined',
  'refund_paid',
  'refund_payout_failed',
] as const;
export type OrderEventType = (typeof ORDER_EVENT_TYPES)[number];

export interface OrderEvent {
  at: string;
  type: OrderEventType;
  /** Who did it: the parent, the institution's staff, an operator, `bank` or `system`. */
  actor: string;
  lessonId: string | null;
  transactionId: string | null;
  amountFen: number | null;
  details: Record<string, unknown>;
}

export interface HistoryPosting {
  postingId: string;
  accountId: string;
  accountCode: AccountCode;
  orderId: string | null;
  phase: PostingPhase;
  debitFen: number;
  creditFen: number;
  recordedAt: string;
}

export interface HistoryTransaction {
  transactionId: string;
  seq: number;
  kind: string;
  reference: string;
  createdAt: string;
  effectiveAt: string;
  manual: boolean;
  pendingId: string | null;
  resolution: 'post' | 'void' | null;
  reversalOf: string | null;
  metadata: Record<string, unknown>;
  /** Height of the seal block that holds the transaction; null until it is sealed. */
  sealedInBlock: number | null;
  postings: HistoryPosting[];
}

export interface OrderHistory {
  order: {
    id: string;
    institutionId: string;
    courseId: string;
    parentId: string;
    studentName: string;
    status: OrderStatus;
    lessonsPaid: number;
    bonusLessons: number;
    amountFen: number;
    paymentReference: string;
    escrowAccountId: string;
    createdAt: string;
    paidAt: string | null;
  };
  escrow: { postedFen: number; pendingDebitsFen: number; availableFen: number };
  events: OrderEvent[];
  transactions: HistoryTransaction[];
}

interface OrderRow {
  id: string;
  institution_id: string;
  course_id: string;
  parent_id: string;
  student_name: string;
  status: OrderStatus;
  lessons_paid: number;
  bonus_lessons: number;
  amount_fen: string;
  payment_reference: string;
  escrow_account_id: string;
  created_at: string;
  paid_at: string | null;
  posted_debits: string;
  posted_credits: string;
  pending_debits: string;
  pending_credits: string;
}

interface PaymentRow {
  id: string;
  bank_txn_id: string;
  amount_fen: string;
  outcome: string;
  ledger_transaction_id: string | null;
  occurred_at: string;
  received_at: string;
}

interface LessonRow {
  id: string;
  sequence: number;
  fee_fen: string;
  status: string;
  recorded_by: string;
  created_at: string;
  delivered_at: string;
  hold_transaction_id: string | null;
  settle_transaction_id: string | null;
  confirmed_at: string | null;
  confirmed_by: string | null;
  confirmation_rule: string | null;
  rating: number | null;
  disputed_at: string | null;
  dispute_reason: string | null;
  resolved_at: string | null;
  resolved_by: string | null;
  resolved_outcome: string | null;
  resolution_note: string | null;
  settlement_batch_id: string | null;
  settled_at: string | null;
}

interface RefundRow {
  id: string;
  reason: string;
  note: string | null;
  amount_fen: string;
  status: string;
  requested_by: string;
  requested_at: string;
  hold_transaction_id: string | null;
  approval_transaction_id: string | null;
  decided_by: string | null;
  decided_at: string | null;
  approved_via: string | null;
  rejection_reason: string | null;
  operator_note: string | null;
  instructions:
    | {
        id: string;
        status: string;
        completedAt: string | null;
        transactionId: string | null;
        failureReason: string | null;
      }[]
    | null;
}

interface TransactionRow {
  id: string;
  seq: string;
  kind: string;
  reference: string;
  created_at: string;
  effective_at: string;
  manual: boolean;
  pending_id: string | null;
  resolution: 'post' | 'void' | null;
  reversal_of: string | null;
  metadata: Record<string, unknown>;
  sealed_in_block: string | null;
  postings: {
    postingId: string;
    accountId: string;
    accountCode: AccountCode;
    orderId: string | null;
    phase: PostingPhase;
    amount: string;
    recordedAt: string;
  }[];
}

/** An instant as text, UTC with microseconds; null stays null. */
const at = cursorTimeSql;

/** $1 escrow account, $2 order id: the order's transactions, each with its postings by id. */
const TRANSACTIONS_SQL = `
  WITH ids (id) AS (${orderTransactionIdsSql('$1', '$2')})
  SELECT t.id, t.seq::text AS seq, t.kind, t.reference, ${at('t.created_at')} AS created_at,
         ${at('t.effective_at')} AS effective_at, t.manual, t.pending_id, t.resolution,
         t.reversal_of, t.metadata,
         (SELECT b.height::text FROM ledger_seal_blocks b
          WHERE (b.last_xid, b.last_seq) >= (t.created_xid, t.seq)
          ORDER BY b.last_xid, b.last_seq LIMIT 1) AS sealed_in_block,
         (SELECT json_agg(json_build_object(
                   'postingId', p.id::text, 'accountId', p.account_id, 'accountCode', a.code,
                   'orderId', a.order_id, 'phase', p.phase, 'amount', p.amount::text,
                   'recordedAt', ${at('p.recorded_at')}) ORDER BY p.id)
          FROM ledger_postings p JOIN ledger_accounts a ON a.id = p.account_id
          WHERE p.transaction_id = t.id) AS postings
  FROM ledger_transactions t JOIN ids USING (id)
  ORDER BY t.seq`;

const nullableFen = (value: string | null) => (value === null ? null : toFen(value));

function lessonEvents(lesson: LessonRow, parentId: string): OrderEvent[] {
  const base = { lessonId: lesson.id, amountFen: toFen(lesson.fee_fen) };
  const events: OrderEvent[] = [
    {
      ...base,
      at: lesson.created_at,
      type: 'lesson_recorded',
      actor: lesson.recorded_by,
      transactionId: lesson.hold_transaction_id,
      details: { sequence: lesson.sequence, deliveredAt: lesson.delivered_at },
    },
  ];
  if (lesson.confirmed_at !== null) {
    const automatic = lesson.confirmation_rule !== null || lesson.status === 'auto_confirmed';
    events.push({
      ...base,
      at: lesson.confirmed_at,
      type: automatic ? 'lesson_auto_confirmed' : 'lesson_confirmed',
      actor: lesson.confirmed_by ?? 'system',
      transactionId: lesson.settle_transaction_id,
      details: {
        ...(lesson.rating !== null ? { rating: lesson.rating } : {}),
        ...(lesson.confirmation_rule !== null ? { rule: lesson.confirmation_rule } : {}),
      },
    });
  }
  if (lesson.disputed_at !== null) {
    events.push({
      ...base,
      at: lesson.disputed_at,
      type: 'lesson_disputed',
      actor: parentId,
      transactionId: null,
      details: { reason: lesson.dispute_reason },
    });
  }
  if (lesson.resolved_at !== null) {
    events.push({
      ...base,
      at: lesson.resolved_at,
      type: 'dispute_resolved',
      actor: lesson.resolved_by ?? 'operator',
      transactionId: lesson.settle_transaction_id,
      details: { outcome: lesson.resolved_outcome, note: lesson.resolution_note },
    });
  }
  if (lesson.settled_at !== null) {
    events.push({
      ...base,
      at: lesson.settled_at,
      type: 'lesson_settled',
      actor: 'bank',
      transactionId: null,
      details: { settlementBatchId: lesson.settlement_batch_id },
    });
  }
  return events;
}

/** A refund's life; a decision overruled later keeps only its last state in the refund row. */
function refundEvents(refund: RefundRow): OrderEvent[] {
  const base = { lessonId: null, amountFen: toFen(refund.amount_fen) };
  const events: OrderEvent[] = [
    {
      ...base,
      at: refund.requested_at,
      type: 'refund_requested',
      actor: refund.requested_by,
      transactionId: refund.hold_transaction_id,
      details: { refundId: refund.id, reason: refund.reason, note: refund.note },
    },
  ];
  const decidedAt = refund.decided_at ?? refund.requested_at;
  const decision = {
    refundId: refund.id,
    ...(refund.rejection_reason !== null ? { rejectionReason: refund.rejection_reason } : {}),
    ...(refund.operator_note !== null ? { operatorNote: refund.operator_note } : {}),
  };
  if (refund.approval_transaction_id !== null) {
    events.push({
      ...base,
      at: decidedAt,
      type: 'refund_approved',
      actor: refund.decided_by ?? 'system',
      transactionId: refund.approval_transaction_id,
      details: { ...decision, via: refund.approved_via },
    });
  } else if (refund.status === 'rejected' || refund.status === 'declined') {
    events.push({
      ...base,
      at: decidedAt,
      type: refund.status === 'rejected' ? 'refund_rejected' : 'refund_declined',
      actor: refund.decided_by ?? 'system',
      transactionId: null,
      details: decision,
    });
  }
  for (const instruction of refund.instructions ?? []) {
    if (instruction.completedAt === null) continue;
    const paid = instruction.status === 'succeeded';
    events.push({
      ...base,
      at: instruction.completedAt,
      type: paid ? 'refund_paid' : 'refund_payout_failed',
      actor: 'bank',
      transactionId: instruction.transactionId,
      details: {
        refundId: refund.id,
        instructionId: instruction.id,
        ...(paid ? {} : { failureReason: instruction.failureReason }),
      },
    });
  }
  return events;
}

@Injectable()
export class OrderHistoryService {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async getOrderHistory(principal: Principal, orderId: string): Promise<OrderHistory> {
    const [order] = await this.dataSource.query<OrderRow[]>(
      `SELECT o.id, o.institution_id, o.course_id, o.parent_id, o.student_name, o.status,
              o.lessons_paid, o.bonus_lessons, o.amount_fen::text AS amount_fen,
              o.payment_reference, o.escrow_account_id, ${at('o.created_at')} AS created_at,
              ${at('o.paid_at')} AS paid_at,
              a.posted_debits::text AS posted_debits, a.posted_credits::text AS posted_credits,
              a.pending_debits::text AS pending_debits, a.pending_credits::text AS pending_credits
       FROM orders o JOIN ledger_accounts a ON a.id = o.escrow_account_id
       WHERE o.id = $1 AND o.district_id = $2`,
      [orderId, districtOf(principal)],
    );
    if (!order) throw auditError(AuditErrorCode.ORDER_NOT_FOUND, 'No order with this id.');

    const [payments, lessons, refunds, transactions] = (await Promise.all([
      this.dataSource.query(
        `SELECT id, bank_txn_id, amount_fen::text AS amount_fen, outcome, ledger_transaction_id,
                ${at('occurred_at')} AS occurred_at, ${at('received_at')} AS received_at
         FROM payments WHERE order_id = $1`,
        [order.id],
      ),
      this.dataSource.query(
        `SELECT l.id, l.sequence, l.fee_fen::text AS fee_fen, l.status, l.recorded_by,
                ${at('l.created_at')} AS created_at, ${at('l.delivered_at')} AS delivered_at,
                l.hold_transaction_id, l.settle_transaction_id,
                ${at('l.confirmed_at')} AS confirmed_at, l.confirmed_by, l.confirmation_rule,
                l.rating, ${at('l.disputed_at')} AS disputed_at, l.dispute_reason,
                ${at('l.resolved_at')} AS resolved_at, l.resolved_by, l.resolved_outcome,
                l.resolution_note, l.settlement_batch_id, ${at('b.paid_at')} AS settled_at
         FROM lessons l LEFT JOIN settlement_batches b ON b.id = l.settlement_batch_id
         WHERE l.order_id = $1 ORDER BY l.sequence`,
        [order.id],
      ),
      this.dataSource.query(
        `SELECT r.id, r.reason, r.note, r.amount_fen::text AS amount_fen, r.status,
                r.requested_by, ${at('r.requested_at')} AS requested_at, r.hold_transaction_id,
                r.approval_transaction_id, r.decided_by,
                ${at('r.decided_at')} AS decided_at,
                r.approved_via, r.rejection_reason, r.operator_note,
                (SELECT json_agg(json_build_object(
                          'id', bi.id, 'status', bi.status, 'transactionId', bi.completion_transaction_id,
                          'failureReason', bi.failure_reason,
                          'completedAt', ${at('bi.completed_at')})
                        ORDER BY bi.created_at)
                 FROM bank_instructions bi
                 WHERE bi.subject_id = r.id AND bi.purpose = 'refund') AS instructions
         FROM refunds r WHERE r.order_id = $1 ORDER BY r.requested_at, r.id`,
        [order.id],
      ),
      this.dataSource.query(TRANSACTIONS_SQL, [order.escrow_account_id, order.id]),
    ])) as [PaymentRow[], LessonRow[], RefundRow[], TransactionRow[]];

    const events: OrderEvent[] = [
      {
        at: order.created_at,
        type: 'order_placed',
        actor: order.parent_id,
        lessonId: null,
        transactionId: null,
        amountFen: toFen(order.amount_fen),
        details: { lessonsPaid: order.lessons_paid, bonusLessons: order.bonus_lessons },
      },
      ...payments.map((payment): OrderEvent => ({
        at: payment.received_at,
        type: 'payment_received',
        actor: 'bank',
        lessonId: null,
        transactionId: payment.ledger_transaction_id,
        amountFen: nullableFen(payment.amount_fen),
        details: {
          paymentId: payment.id,
          bankTxnId: payment.bank_txn_id,
          outcome: payment.outcome,
          occurredAt: payment.occurred_at,
        },
      })),
      ...lessons.flatMap((lesson) => lessonEvents(lesson, order.parent_id)),
      ...refunds.flatMap(refundEvents),
    ];
    // Stable: events of the same instant keep the order in which they were listed.
    events.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));

    const escrow = balanceOf({
      id: order.escrow_account_id,
      code: 'order_escrow',
      type: 'liability',
      institution_id: order.institution_id,
      order_id: order.id,
      posted_debits: order.posted_debits,
      posted_credits: order.posted_credits,
      pending_debits: order.pending_debits,
      pending_credits: order.pending_credits,
    });
    return {
      order: {
        id: order.id,
        institutionId: order.institution_id,
        courseId: order.course_id,
        parentId: order.parent_id,
        studentName: order.student_name,
        status: order.status,
        lessonsPaid: order.lessons_paid,
        bonusLessons: order.bonus_lessons,
        amountFen: toFen(order.amount_fen),
        paymentReference: order.payment_reference,
        escrowAccountId: order.escrow_account_id,
        createdAt: order.created_at,
        paidAt: order.paid_at,
      },
      escrow: {
        postedFen: escrow.postedFen,
        pendingDebitsFen: escrow.pendingDebitsFen,
        availableFen: escrow.availableFen,
      },
      events,
      transactions: transactions.map((row) => ({
        transactionId: row.id,
        seq: safeInteger(row.seq),
        kind: row.kind,
        reference: row.reference,
        createdAt: row.created_at,
        effectiveAt: row.effective_at,
        manual: row.manual,
        pendingId: row.pending_id,
        resolution: row.resolution,
        reversalOf: row.reversal_of,
        metadata: row.metadata,
        sealedInBlock: row.sealed_in_block === null ? null : safeInteger(row.sealed_in_block),
        postings: (row.postings ?? []).map((posting) => {
          const amount = toFen(posting.amount);
          return {
            postingId: posting.postingId,
            accountId: posting.accountId,
            accountCode: posting.accountCode,
            orderId: posting.orderId,
            phase: posting.phase,
            debitFen: Math.max(amount, 0),
            creditFen: Math.max(-amount, 0),
            recordedAt: posting.recordedAt,
          };
        }),
      })),
    };
  }
}
