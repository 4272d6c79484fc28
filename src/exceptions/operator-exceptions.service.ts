import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { Principal } from '../auth/principal';
import {
  PageQueryDto,
  Page,
  cursorTimeSql,
  decodeCursor,
  toPage,
  DEFAULT_PAGE_SIZE,
} from '../common/pagination/cursor';
import { toFen } from '../common/money/fen';
import { OperatorExceptionKind } from './operator-exception.entity';

export interface RaiseException {
  kind: OperatorExceptionKind;
  subjectId: string;
  districtId: string | null;
  institutionId: string | null;
  amountFen?: number;
  details: Record<string, unknown>;
}

export interface OperatorExceptionView {
  id: string;
  kind: OperatorExceptionKind;
  status: 'open' | 'resolved';
  institutionId: string | null;
  subjectId: string;
  amountFen: number | null;
  details: Record<string, unknown>;
  createdAt: string;
  resolvedAt: string | null;
  resolvedBy: string | null;
  resolutionNote: string | null;
}

interface Row {
  id: string;
  kind: OperatorExceptionKind;
  status: 'open' | 'resolved';
  institution_id: string | null;
  subject_id: string;
  amount_fen: string | null;
  details: Record<string, unknown>;
  created_at: Date;
  resolved_at: Date | null;
  resolved_by: string | null;
  resolution_note: string | null;
  cursor_time: string;
}

/** Items an operator must look at. Raised inside the transaction that found the problem. */
@Injectable()
export class OperatorExceptionsService {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** Records an exception once per (kind, subject); raising it again changes nothing. */
  async raise(manager: EntityManager, input: RaiseException): Promise<void> {
    await manager.query(
      `INSERT INTO operator_exceptions (kind, subject_id, district_id, institution_id, amount_fen, details)
       VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (kind, subject_id) DO NOTHING`,
      [
        input.kind,
        input.subjectId,
        input.districtId,
        input.institutionId,
        input.amountFen ?? null,
        input.details,
      ],
    );
  }

  /** Exceptions of the principal's district (operators and auditors), newest last. */
  async list(
    principal: Principal,
    query: PageQueryDto & { status?: 'open' | 'resolved' },
  ): Promise<Page<OperatorExceptionView>> {
    const limit = query.limit ?? DEFAULT_PAGE_SIZE;
    const after = decodeCursor(query.cursor);
    const rows: Row[] = await this.dataSource.query(
      `SELECT *, ${cursorTimeSql('created_at')} AS cursor_time FROM operator_exceptions
       WHERE district_id = $1
         AND ($2::text IS NULL OR status = $2)
         AND ($3::timestamptz IS NULL OR (created_at, id) > ($3::timestamptz, $4::uuid))
       ORDER BY created_at, id
       LIMIT $5`,
      [
        principal.districtId,
        query.status ?? null,
        after?.createdAt ?? null,
        after?.id ?? null,
        limit + 1,
      ],
    );
    return toPage(rows, limit, (row) => ({
      id: row.id,
      kind: row.kind,
      status: row.status,
      institutionId: row.institution_id,
      subjectId: row.subject_id,
      amountFen: row.amount_fen === null ? null : toFen(row.amount_fen),
      details: row.details,
      createdAt: row.created_at.toISOString(),
      resolvedAt: row.resolved_at?.toISOString() ?? null,
      resolvedBy: row.resolved_by,
      resolutionNote: row.resolution_note,
    }));
  }
}
