/** Reading refunds, scoped in SQL to the principal. */
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { Principal } from '../auth/principal';
import { principalScope } from '../auth/scope';
import { Bind, binder } from '../database/binder';
import { toFen } from '../common/money/fen';
import { RefundReason, RefundStatus } from './refund.entity';
import { RefundErrorCode, refundError } from './refunds.errors';

export interface RefundView {
  id: string;
  orderId: string;
  institutionId: string;
  reason: RefundReason;
  note: string | null;
  amountFen: number;
  status: RefundStatus;
  requestedAt: string;
  respondBy: string | null;
  dueOn: string | null;
  approvedVia: string | null;
  decidedAt: string | null;
  rejectionReason: string | null;
  operatorNote: string | null;
  instructionId: string | null;
  paidAt: string | null;
}

interface Row {
  id: string;
  order_id: string;
  institution_id: string;
  reason: RefundReason;
  note: string | null;
  amount_fen: string;
  status: RefundStatus;
  instruction_status: string | null;
  requested_at: Date;
  respond_by: string | null;
  due_on: string | null;
  approved_via: string | null;
  decided_at: Date | null;
  rejection_reason: string | null;
  operator_note: string | null;
  instruction_id: string | null;
  paid_at: Date | null;
}

/** Limits refunds (alias `r`) to the principal's. */
export const refundScope = (principal: Principal, bind: Bind) =>
  principalScope(
    principal,
    { parent: 'r.parent_id', institution: 'r.institution_id', district: 'r.district_id' },
    bind,
  );

const VIEW_SQL = `
  SELECT r.*, r.respond_by::text, r.due_on::text, b.status AS instruction_status
  FROM refunds r LEFT JOIN bank_instructions b ON b.id = r.instruction_id`;

function toView(row: Row): RefundView {
  return {
    id: row.id,
    orderId: row.order_id,
    institutionId: row.institution_id,
    reason: row.reason,
    note: row.note,
    amountFen: toFen(row.amount_fen),
    // An approved refund whose instruction has gone to the bank is being paid.
    status:
      row.status === 'approved' && row.instruction_status === 'submitted' ? 'paying' : row.status,
    requestedAt: row.requested_at.toISOString(),
    respondBy: row.respond_by,
    dueOn: row.due_on,
    approvedVia: row.approved_via,
    decidedAt: row.decided_at?.toISOString() ?? null,
    rejectionReason: row.rejection_reason,
    operatorNote: row.operator_note,
    instructionId: row.instruction_id,
    paidAt: row.paid_at?.toISOString() ?? null,
  };
}

@Injectable()
export class RefundsService {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async get(principal: Principal, id: string): Promise<RefundView> {
    const params: unknown[] = [];
    const bind = binder(params);
    const [row]: Row[] = await this.dataSource.query(
      `${VIEW_SQL} WHERE ${refundScope(principal, bind)} AND r.id = ${bind(id)}`,
      params,
    );
    if (!row) throw refundError(RefundErrorCode.REFUND_NOT_FOUND, 'No refund with this id.');
    return toView(row);
  }

  async listForOrder(principal: Principal, orderId: string): Promise<{ items: RefundView[] }> {
    const params: unknown[] = [];
    const bind = binder(params);
    const rows: Row[] = await this.dataSource.query(
      `${VIEW_SQL} WHERE ${refundScope(principal, bind)} AND r.order_id = ${bind(orderId)}
       ORDER BY r.requested_at, r.id`,
      params,
    );
    return { items: rows.map(toView) };
  }
}
