/**
 * Reads of the institution registry. Every query carries the principal's scope in its WHERE
 * clause, so a row outside it is never loaded: it is simply not found.
 */
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import type { Principal } from '../auth/principal';
import { EVERY_ROW, principalScope } from '../auth/scope';
import { Bind, binder } from '../database/binder';
import { BankAccountDto, InstitutionDto } from './dto/institution.dto';
import { InstitutionStatus } from './entities/institution.entity';
import { InstitutionErrorCode, institutionError } from './institutions.errors';
import {
  DEFAULT_PAGE_SIZE,
  Page,
  PageQueryDto,
  cursorTimeSql,
  toPage,
} from '../common/pagination/cursor';
import { decodeCursor } from '../common/pagination/cursor';

interface InstitutionRow {
  id: string;
  name: string;
  license_no: string;
  district_id: string;
  status: InstitutionStatus;
  status_reason: string | null;
  created_at: Date;
  updated_at: Date;
  cursor_time: string;
  custody_bank_code: string | null;
  custody_account_no: string | null;
  custody_account_name: string | null;
  settlement_bank_code: string | null;
  settlement_account_no: string | null;
  settlement_account_name: string | null;
}

const SELECT_INSTITUTIONS = `
  SELECT i.id, i.name, i.license_no, i.district_id, i.status, i.status_reason,
         i.created_at, i.updated_at, ${cursorTimeSql('i.created_at')} AS cursor_time,
         c.bank_code AS custody_bank_code, c.account_no AS custody_account_no,
         c.account_name AS custody_account_name,
         s.bank_code AS settlement_bank_code, s.account_no AS settlement_account_no,
         s.account_name AS settlement_account_name
  FROM institutions i
  LEFT JOIN institution_bank_accounts c ON c.institution_id = i.id AND c.kind = 'custody'
  LEFT JOIN institution_bank_accounts s ON s.institution_id = i.id AND s.kind = 'settlement'`;

/**
 * Limits institutions (alias `i`) to what the principal may see: a parent any institution (to
 * check its custody account before buying), institution staff their own, auditors and operators
 * their district's.
 */
export const institutionScope = (principal: Principal, bind: Bind) =>
  principalScope(
    principal,
    { parent: EVERY_ROW, institution: 'i.id', district: 'i.district_id' },
    bind,
  );

function account(
  bankCode: string | null,
  accountNo: string | null,
  accountName: string | null,
): BankAccountDto | null {
  return bankCode === null || accountNo === null || accountName === null
    ? null
    : { bankCode, accountNo, accountName };
}

/** What the principal may see of an institution: parents get neither the settlement account nor internal reasons. */
function toDto(row: InstitutionRow, principal: Principal): InstitutionDto {
  const staff = principal.role !== 'parent';
  return {
    id: row.id,
    name: row.name,
    licenseNo: row.license_no,
    districtId: row.district_id,
    status: row.status,
    ...(staff ? { statusReason: row.status_reason } : {}),
    custodyAccount: account(
      row.custody_bank_code,
      row.custody_account_no,
      row.custody_account_name,
    ),
    ...(staff
      ? {
          settlementAccount: account(
            row.settlement_bank_code,
            row.settlement_account_no,
            row.settlement_account_name,
          ),
        }
      : {}),
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

@Injectable()
export class InstitutionQueries {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  getInstitution(principal: Principal, id: string): Promise<InstitutionDto> {
    return this.view(this.dataSource.manager, principal, id);
  }

  /** The institution as the principal may see it, read with the caller's manager (transaction). */
  async view(manager: EntityManager, principal: Principal, id: string): Promise<InstitutionDto> {
    const params: unknown[] = [];
    const bind = binder(params);
    const rows: InstitutionRow[] = await manager.query(
      `${SELECT_INSTITUTIONS} WHERE i.id = ${bind(id)} AND ${institutionScope(principal, bind)}`,
      params,
    );
    if (rows.length === 0) throw notFound(id);
    return toDto(rows[0], principal);
  }

  /** The principal's district's institutions, oldest first. */
  async listInstitutions(principal: Principal, query: PageQueryDto): Promise<Page<InstitutionDto>> {
    const after = decodeCursor(query.cursor);
    const limit = query.limit ?? DEFAULT_PAGE_SIZE;
    const params: unknown[] = [];
    const bind = binder(params);
    const conditions = [institutionScope(principal, bind)];
    if (after) {
      conditions.push(
        `(i.created_at, i.id) > (${bind(after.createdAt)}::timestamptz, ${bind(after.id)}::uuid)`,
      );
    }
    const rows: InstitutionRow[] = await this.dataSource.query(
      `${SELECT_INSTITUTIONS} WHERE ${conditions.join(' AND ')}
       ORDER BY i.created_at, i.id LIMIT ${bind(limit + 1)}`,
      params,
    );
    return toPage(rows, limit, (row) => toDto(row, principal));
  }

  /**
   * Locks the institution row in scope (`FOR UPDATE` to change it, `FOR SHARE` to rely on its
   * status until commit) and returns its status and district; 404 when outside the scope.
   */
  async lock(
    manager: EntityManager,
    principal: Principal,
    id: string,
    mode: 'update' | 'share',
  ): Promise<{ status: InstitutionStatus; districtId: string }> {
    const params: unknown[] = [];
    const bind = binder(params);
    const rows: { status: InstitutionStatus; district_id: string }[] = await manager.query(
      `SELECT i.status, i.district_id FROM institutions i
       WHERE i.id = ${bind(id)} AND ${institutionScope(principal, bind)}
       FOR ${mode === 'update' ? 'UPDATE' : 'SHARE'}`,
      params,
    );
    if (rows.length === 0) throw notFound(id);
    return { status: rows[0].status, districtId: rows[0].district_id };
  }

  /** 404 unless the institution exists within the principal's scope. */
  async assertVisible(principal: Principal, id: string): Promise<void> {
    const params: unknown[] = [];
    const bind = binder(params);
    const rows: unknown[] = await this.dataSource.query(
      `SELECT 1 FROM institutions i
       WHERE i.id = ${bind(id)} AND ${institutionScope(principal, bind)}`,
      params,
    );
    if (rows.length === 0) throw notFound(id);
  }
}

function notFound(id: string) {
  return institutionError(
    InstitutionErrorCode.INSTITUTION_NOT_FOUND,
    `institution ${id} does not exist or is outside your scope`,
  );
}
