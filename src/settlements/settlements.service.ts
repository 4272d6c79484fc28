/** Reading settlement batches, scoped in SQL: an institution its own, auditors and operators their district. */
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
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
import { SettlementStatus } from './settlement-batch.entity';
import { SettlementErrorCode, settlementError } from './settlements.errors';

export interface SettlementView {
  id: string;
  institutionId: string;
  amountFen: number;
  lessonCount: number;
  status: SettlementStatus;
  instructionId: string | null;
  createdAt: string;
  paidAt: string | null;
}

export interface SettlementDetailView extends SettlementView {
  lessons: {
    id: string;
    orderId: string;
    sequence: number;
    feeFen: number;
    confirmedAt: string | null;
  }[];
}

interface Row {
  id: string;
  institution_id: string;
  amount_fen: string;
  lesson_count: number;
  status: SettlementStatus;
  instruction_id: string | null;
  created_at: Date;
  paid_at: Date | null;
  cursor_time: string;
}

/** Limits batches (alias `s`) to the principal's; they are never a parent's. */
const scopeOf = (principal: Principal, bind: Bind) =>
  principalScope(principal, { institution: 's.institution_id', district: 's.district_id' }, bind);

const toView = (row: Row): SettlementView => ({
  id: row.id,
  institutionId: row.institution_id,
  amountFen: toFen(row.amount_fen),
  lessonCount: row.lesson_count,
  status: row.status,
  instructionId: row.instruction_id,
  createdAt: row.created_at.toISOString(),
  paidAt: row.paid_at?.toISOString() ?? null,
});

@Injectable()
export class SettlementsService {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async list(principal: Principal, query: PageQueryDto): Promise<Page<SettlementView>> {
    const limit = query.limit ?? DEFAULT_PAGE_SIZE;
    const after = decodeCursor(query.cursor);
    const params: unknown[] = [];
    const bind = binder(params);
    const scope = scopeOf(principal, bind);
    const afterAt = bind(after?.createdAt ?? null);
    const afterId = bind(after?.id ?? null);
    const rows: Row[] = await this.dataSource.query(
      `SELECT s.*, ${cursorTimeSql('s.created_at')} AS cursor_time FROM settlement_batches s
       WHERE ${scope}
         AND (${afterAt}::timestamptz IS NULL OR (s.created_at, s.id) > (${afterAt}::timestamptz, ${afterId}::uuid))
       ORDER BY s.created_at, s.id LIMIT ${bind(limit + 1)}`,
      params,
    );
    return toPage(rows, limit, toView);
  }

  async get(principal: Principal, id: string): Promise<SettlementDetailView> {
    const params: unknown[] = [];
    const bind = binder(params);
    const [row]: Row[] = await this.dataSource.query(
      `SELECT s.*, '' AS cursor_time FROM settlement_batches s
       WHERE ${scopeOf(principal, bind)} AND s.id = ${bind(id)}`,
      params,
    );
    if (!row) throw settlementError(SettlementErrorCode.SETTLEMENT_NOT_FOUND, 'No such batch.');
    const lessons: {
      id: string;
      order_id: string;
      sequence: number;
      fee_fen: string;
      confirmed_at: Date | null;
    }[] = await this.dataSource.query(
      `SELECT id, order_id, sequence, fee_fen, confirmed_at FROM lessons
         WHERE settlement_batch_id = $1 ORDER BY order_id, sequence`,
      [id],
    );
    return {
      ...toView(row),
      lessons: lessons.map((lesson) => ({
        id: lesson.id,
        orderId: lesson.order_id,
        sequence: lesson.sequence,
        feeFen: toFen(lesson.fee_fen),
        confirmedAt: lesson.confirmed_at?.toISOString() ?? null,
      })),
    };
  }
}
