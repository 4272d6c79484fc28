/**
 * The trail of audit requests: who asked what, when, and with which answer. Written after the
 * response, never in its way: a failure to record is logged, not returned to the caller.
 */
import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { Principal } from '../../auth/principal';
import {
  DEFAULT_PAGE_SIZE,
  Page,
  PageQueryDto,
  cursorTimeSql,
  decodeCursor,
  toPage,
} from '../../common/pagination/cursor';
import { assertRange, districtOf } from '../audit-scope';

export interface AuditRequestRecord {
  startedAt: Date;
  principal: Principal | undefined;
  method: string;
  path: string;
  statusCode: number;
  durationMs: number;
  aborted: boolean;
  requestId: string | null;
  ip: string | null;
}

export interface AuditRequestView {
  id: string;
  at: string;
  principalSub: string | null;
  principalRole: string | null;
  method: string;
  path: string;
  statusCode: number;
  durationMs: number;
  aborted: boolean;
  requestId: string | null;
}

export interface AuditRequestQuery extends PageQueryDto {
  principalSub?: string;
  from?: string;
  to?: string;
}

interface Row {
  id: string;
  created_at: Date;
  principal_sub: string | null;
  principal_role: string | null;
  method: string;
  path: string;
  status_code: number;
  duration_ms: number;
  aborted: boolean;
  request_id: string | null;
  cursor_time: string;
}

/** Long enough for any audit URL this service answers; longer ones are cut, not refused. */
const MAX_PATH = 2_048;

@Injectable()
export class AuditTrail implements OnModuleDestroy {
  private readonly logger = new Logger(AuditTrail.name);
  private readonly writing = new Set<Promise<void>>();

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** Records one request in the background. */
  record(entry: AuditRequestRecord): void {
    const write = this.dataSource
      .query(
        `INSERT INTO audit_requests (created_at, district_id, principal_sub, principal_role,
           method, path, status_code, duration_ms, aborted, request_id, ip)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
        [
          entry.startedAt,
          entry.principal?.districtId ?? null,
          entry.principal?.sub ?? null,
          entry.principal?.role ?? null,
          entry.method,
          entry.path.slice(0, MAX_PATH),
          entry.statusCode,
          entry.durationMs,
          entry.aborted,
          entry.requestId,
          entry.ip,
        ],
      )
      .then(
        () => undefined,
        (error: unknown) =>
          this.logger.error({ err: error, path: entry.path }, 'could not record an audit request'),
      )
      .finally(() => this.writing.delete(write));
    this.writing.add(write);
  }

  /**
   * Lets the records being written land. Runs once the HTTP server has closed, after its last
   * answers (configureApp), and again when the module is destroyed: both before the database
   * connection closes.
   */
  async settle(): Promise<void> {
    await Promise.allSettled([...this.writing]);
  }

  onModuleDestroy(): Promise<void> {
    return this.settle();
  }

  /** The trail of the principal's district, oldest first. */
  async list(principal: Principal, query: AuditRequestQuery): Promise<Page<AuditRequestView>> {
    const districtId = districtOf(principal);
    assertRange(query.from, query.to);
    const limit = query.limit ?? DEFAULT_PAGE_SIZE;
    const after = decodeCursor(query.cursor);
    const rows: Row[] = await this.dataSource.query(
      `SELECT id, created_at, principal_sub, principal_role, method, path, status_code,
              duration_ms, aborted, request_id, ${cursorTimeSql('created_at')} AS cursor_time
       FROM audit_requests
       WHERE district_id = $1
         AND ($2::text IS NULL OR principal_sub = $2)
         AND ($3::timestamptz IS NULL OR created_at >= $3)
         AND ($4::timestamptz IS NULL OR created_at < $4)
         AND ($5::timestamptz IS NULL OR (created_at, id) > ($5::timestamptz, $6::uuid))
       ORDER BY created_at, id
       LIMIT $7`,
      [
        districtId,
        query.principalSub ?? null,
        query.from ?? null,
        query.to ?? null,
        after?.createdAt ?? null,
        after?.id ?? null,
        limit + 1,
      ],
    );
    return toPage(rows, limit, (row) => ({
      id: row.id,
      at: row.created_at.toISOString(),
      principalSub: row.principal_sub,
      principalRole: row.principal_role,
      method: row.method,
      path: row.path,
      statusCode: row.status_code,
      durationMs: row.duration_ms,
      aborted: row.aborted,
      requestId: row.request_id,
    }));
  }
}
