/**
 * Reading orders. Every amount is computed from the ledger (the order's escrow account), and
 * every query is scoped to the principal in its WHERE clause.
 */
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { Principal } from '../auth/principal';
import { principalScope } from '../auth/scope';
import { Bind, binder } from '../database/binder';
import { toFen } from '../common/money/fen';
import {
  DEFAULT_PAGE_SIZE,
  Page,
  PageQueryDto,
  cursorTimeSql,
  decodeCursor,
  toPage,
} from '../common/pagination/cursor';
import { Order, OrderStatus } from './entities/order.entity';
import { OrderErrorCode, orderError } from './orders.errors';

export interface BankAccountView {
  bankCode: string;
  accountNo: string;
  accountName: string;
}

export interface OrderView {
  id: string;
  status: OrderStatus;
  institutionId: string;
  courseId: string;
  studentName: string;
  contractVersion: string;
  paymentReference: string;
  custodyAccount: BankAccountView;
  lessonPriceFen: number;
  amountFen: number;
  lessonsPaid: number;
  bonusLessons: number;
  lessonsConsumed: number;
  lessonsHeld: number;
  paidFen: number;
  releasedFen: number;
  heldFen: number;
  refundedFen: number;
  /** Asked for and not yet decided: held for the refund. */
  refundPendingFen: number;
  refundableFen: number;
  firstLessonOn: string;
  lastLessonOn: string;
  paidAt: string | null;
  createdAt: string;
}

interface OrderRow {
  id: string;
  status: OrderStatus;
  institution_id: string;
  course_id: string;
  student_name: string;
  contract_version: string;
  payment_reference: string;
  custody_bank_code: string;
  custody_account_no: string;
  custody_account_name: string;
  lesson_price_fen: string;
  amount_fen: string;
  lessons_paid: number;
  bonus_lessons: number;
  lessons_consumed: number;
  lessons_held: number;
  paid_fen: string;
  released_fen: string;
  held_fen: string;
  refunded_fen: string;
  refund_pending_fen: string;
  first_lesson_on: string;
  last_lesson_on: string;
  paid_at: Date | null;
  created_at: Date;
  cursor_time: string;
}

/** Limits orders (alias `o`) to the principal's; lessons are seen through their orders too. */
export const orderScope = (principal: Principal, bind: Bind) =>
  principalScope(
    principal,
    { parent: 'o.parent_id', institution: 'o.institution_id', district: 'o.district_id' },
    bind,
  );

/** The order figures of API.md, from the order row, its lessons and its escrow account. */
const ORDER_VIEW_SQL = `
  SELECT o.id, o.status, o.institution_id, o.course_id, o.student_name, o.contract_version,
         o.payment_reference, b.bank_code AS custody_bank_code, b.account_no AS custody_account_no,
         b.account_name AS custody_account_name, o.lesson_price_fen, o.amount_fen, o.lessons_paid,
         o.bonus_lessons, o.first_lesson_on::text, o.last_lesson_on::text, o.paid_at, o.created_at,
         ${cursorTimeSql('o.created_at')} AS cursor_time,
         l.consumed AS lessons_consumed, l.held AS lessons_held,
         m.paid AS paid_fen, m.released AS released_fen, m.refunded AS refunded_fen,
         l.held_fen, r.pending AS refund_pending_fen
  FROM orders o
  JOIN institution_bank_accounts b ON b.institution_id = o.institution_id AND b.kind = 'custody'
  CROSS JOIN LATERAL (
    SELECT count(*) FILTER (WHERE status IN ('confirmed', 'auto_confirmed', 'released'))::int AS consumed,
           count(*) FILTER (WHERE status IN ('awaiting_confirmation', 'disputed'))::int AS held,
           coalesce(sum(fee_fen) FILTER (WHERE status IN ('awaiting_confirmation', 'disputed')), 0) AS held_fen
    FROM lessons WHERE order_id = o.id) l
  CROSS JOIN LATERAL (
    SELECT coalesce(sum(amount_fen) FILTER (WHERE status IN ('requested', 'rejected')), 0) AS pending
    FROM refunds WHERE order_id = o.id) r
  CROSS JOIN LATERAL (
    SELECT coalesce(-sum(p.amount) FILTER (WHERE t.kind = 'payment_received'), 0) AS paid,
           coalesce(sum(p.amount) FILTER (WHERE t.kind = 'lesson_release'), 0) AS released,
           coalesce(sum(p.amount) FILTER (WHERE t.kind = 'refund_approved'), 0) AS refunded
    FROM ledger_postings p JOIN ledger_transactions t ON t.id = p.transaction_id
    WHERE p.account_id = o.escrow_account_id AND p.phase = 'posted') m`;

function toView(row: OrderRow): OrderView {
  const paidFen = toFen(row.paid_fen);
  const releasedFen = toFen(row.released_fen);
  const heldFen = toFen(row.held_fen);
  const refundedFen = toFen(row.refunded_fen);
  const refundPendingFen = toFen(row.refund_pending_fen);
  return {
    id: row.id,
    status: row.status,
    institutionId: row.institution_id,
    courseId: row.course_id,
    studentName: row.student_name,
    contractVersion: row.contract_version,
    paymentReference: row.payment_reference,
    custodyAccount: {
      bankCode: row.custody_bank_code,
      accountNo: row.custody_account_no,
      accountName: row.custody_account_name,
    },
    lessonPriceFen: toFen(row.lesson_price_fen),
    amountFen: toFen(row.amount_fen),
    lessonsPaid: row.lessons_paid,
    bonusLessons: row.bonus_lessons,
    lessonsConsumed: row.lessons_consumed,
    lessonsHeld: row.lessons_held,
    paidFen,
    releasedFen,
    heldFen,
    refundedFen,
    refundPendingFen,
    // DESIGN.md rule 11: paid − released − held − refunded (and what a pending request holds).
    refundableFen: Math.max(0, paidFen - releasedFen - heldFen - refundedFen - refundPendingFen),
    firstLessonOn: row.first_lesson_on,
    lastLessonOn: row.last_lesson_on,
    paidAt: row.paid_at?.toISOString() ?? null,
    createdAt: row.created_at.toISOString(),
  };
}

@Injectable()
export class OrdersService {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async getOrder(principal: Principal, id: string): Promise<OrderView> {
    const params: unknown[] = [];
    const bind = binder(params);
    const [row]: OrderRow[] = await this.dataSource.query(
      `${ORDER_VIEW_SQL} WHERE ${orderScope(principal, bind)} AND o.id = ${bind(id)}`,
      params,
    );
    if (!row) throw orderError(OrderErrorCode.ORDER_NOT_FOUND, 'No order with this id.');
    return toView(row);
  }

  async listOrders(principal: Principal, query: PageQueryDto): Promise<Page<OrderView>> {
    const limit = query.limit ?? DEFAULT_PAGE_SIZE;
    const after = decodeCursor(query.cursor);
    const params: unknown[] = [];
    const bind = binder(params);
    const scope = orderScope(principal, bind);
    const afterAt = bind(after?.createdAt ?? null);
    const afterId = bind(after?.id ?? null);
    const rows: OrderRow[] = await this.dataSource.query(
      `${ORDER_VIEW_SQL}
       WHERE ${scope}
         AND (${afterAt}::timestamptz IS NULL OR (o.created_at, o.id) > (${afterAt}::timestamptz, ${afterId}::uuid))
       ORDER BY o.created_at, o.id
       LIMIT ${bind(limit + 1)}`,
      params,
    );
    return toPage(rows, limit, toView);
  }

  /** The view of an order inside the transaction that just changed it. */
  async viewOf(manager: EntityManager, order: Pick<Order, 'id'>): Promise<OrderView> {
    const [row]: OrderRow[] = await manager.query(`${ORDER_VIEW_SQL} WHERE o.id = $1`, [order.id]);
    return toView(row);
  }
}
