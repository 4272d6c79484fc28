/**
 * The district at a glance, from the accounts' live totals (kept by the posting trigger under
 * row locks, so one snapshot shows whole transactions): what custody holds, what is owed to
 * parents, what is released but not paid out, refunds pending, open disputes and exceptions.
 */
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { Principal } from '../auth/principal';
import { sumFen, toFen } from '../common/money/fen';
import {
  INSTITUTION_STATUSES,
  InstitutionStatus,
} from '../institutions/entities/institution.entity';
import { districtOf } from './audit-scope';

export interface AuditFigures {
  heldInCustodyFen: number;
  owedToParentsFen: number;
  unconsumedEscrowFen: number;
  heldForLessonsFen: number;
  releasedNotSettledFen: number;
  refundsPendingFen: number;
  refundsRequestedFen: number;
  suspenseFen: number;
  openDisputes: number;
  /** Operator exceptions: unmatched money, failed payouts. */
  openExceptions: number;
  /** Bank statement lines and ledger movements that reconciliation could not match. */
  openReconciliationExceptions: number;
}

export interface InstitutionFigures extends AuditFigures {
  institutionId: string;
  name: string;
  status: InstitutionStatus;
  /** DESIGN.md rule 10: custody holds at least what is owed to parents. */
  custodyCoversParents: boolean;
}

export interface AuditSummary {
  districtId: string;
  asOf: string;
  totals: AuditFigures;
  institutionsByStatus: Record<InstitutionStatus, number>;
  institutions: InstitutionFigures[];
}

interface Row {
  district_open_exceptions: number;
  as_of: Date;
  /** Null on the one row of a district without institutions. */
  id: string | null;
  name: string;
  status: InstitutionStatus;
  custody: string;
  escrow: string;
  held: string;
  settlement: string;
  refunds: string;
  requested: string;
  suspense: string;
  open_disputes: number;
  open_exceptions: number;
  open_reconciliation_exceptions: number;
}

const SUMMARY = `
  WITH inst AS (SELECT id, name, status FROM institutions WHERE district_id = $1),
  books AS (
    SELECT a.institution_id,
           sum(a.posted_debits - a.posted_credits) FILTER (WHERE a.code = 'custody_cash') AS custody,
           sum(a.posted_credits - a.posted_debits) FILTER (WHERE a.code = 'order_escrow') AS escrow,
           sum(a.pending_credits) FILTER (WHERE a.code = 'settlement_payable') AS held,
           sum(a.posted_credits - a.posted_debits) FILTER (WHERE a.code = 'settlement_payable') AS settlement,
           sum(a.posted_credits - a.posted_debits) FILTER (WHERE a.code = 'refund_payable') AS refunds,
           sum(a.pending_credits) FILTER (WHERE a.code = 'refund_payable') AS requested,
           sum(a.posted_credits - a.posted_debits) FILTER (WHERE a.code = 'suspense') AS suspense
    FROM ledger_accounts a
    WHERE a.institution_id IN (SELECT id FROM inst)
    GROUP BY a.institution_id),
  disputes AS (
    SELECT institution_id, count(*)::int AS n FROM lessons
    WHERE status = 'disputed' AND institution_id IN (SELECT id FROM inst)
    GROUP BY institution_id),
  exceptions AS (
    SELECT institution_id, count(*)::int AS n FROM operator_exceptions
    WHERE status = 'open' AND district_id = $1 AND institution_id IS NOT NULL
    GROUP BY institution_id),
  reconciliation AS (
    SELECT institution_id, count(*)::int AS n FROM reconciliation_exceptions
    WHERE status = 'open' AND district_id = $1
    GROUP BY institution_id),
  district AS (
    SELECT count(*)::int AS open_exceptions, now() AS as_of FROM operator_exceptions
    WHERE status = 'open' AND district_id = $1)
  SELECT z.open_exceptions AS district_open_exceptions, z.as_of, i.id, i.name, i.status,
         coalesce(b.custody, 0)::text AS custody, coalesce(b.escrow, 0)::text AS escrow,
         coalesce(b.held, 0)::text AS held, coalesce(b.settlement, 0)::text AS settlement,
         coalesce(b.refunds, 0)::text AS refunds, coalesce(b.requested, 0)::text AS requested,
         coalesce(b.suspense, 0)::text AS suspense,
         coalesce(d.n, 0) AS open_disputes, coalesce(e.n, 0) AS open_exceptions,
         coalesce(r.n, 0) AS open_reconciliation_exceptions
  FROM district z
  LEFT JOIN inst i ON true
  LEFT JOIN books b ON b.institution_id = i.id
  LEFT JOIN disputes d ON d.institution_id = i.id
  LEFT JOIN exceptions e ON e.institution_id = i.id
  LEFT JOIN reconciliation r ON r.institution_id = i.id
  ORDER BY i.name, i.id`;

function figuresOf(row: Row & { id: string }): InstitutionFigures {
  const escrow = toFen(row.escrow);
  const refunds = toFen(row.refunds);
  const custody = toFen(row.custody);
  const owed = sumFen([escrow, refunds]);
  return {
    institutionId: row.id,
    name: row.name,
    status: row.status,
    heldInCustodyFen: custody,
    owedToParentsFen: owed,
    unconsumedEscrowFen: escrow,
    heldForLessonsFen: toFen(row.held),
    releasedNotSettledFen: toFen(row.settlement),
    refundsPendingFen: refunds,
    refundsRequestedFen: toFen(row.requested),
    suspenseFen: toFen(row.suspense),
    openDisputes: row.open_disputes,
    openExceptions: row.open_exceptions,
    openReconciliationExceptions: row.open_reconciliation_exceptions,
    custodyCoversParents: custody >= owed,
  };
}

const total = (items: InstitutionFigures[], pick: (item: InstitutionFigures) => number) =>
  sumFen(items.map(pick));

@Injectable()
export class AuditSummaryService {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async getSummary(principal: Principal): Promise<AuditSummary> {
    const districtId = districtOf(principal);
    // One statement, one snapshot: the figures add up.
    const rows: Row[] = await this.dataSource.query(SUMMARY, [districtId]);
    const institutions = rows
      .filter((row): row is Row & { id: string } => row.id !== null)
      .map(figuresOf);
    const byStatus = Object.fromEntries(
      INSTITUTION_STATUSES.map((status) => [status, 0]),
    ) as Record<InstitutionStatus, number>;
    for (const institution of institutions) byStatus[institution.status] += 1;
    return {
      districtId,
      asOf: rows[0].as_of.toISOString(),
      totals: {
        heldInCustodyFen: total(institutions, (i) => i.heldInCustodyFen),
        owedToParentsFen: total(institutions, (i) => i.owedToParentsFen),
        unconsumedEscrowFen: total(institutions, (i) => i.unconsumedEscrowFen),
        heldForLessonsFen: total(institutions, (i) => i.heldForLessonsFen),
        releasedNotSettledFen: total(institutions, (i) => i.releasedNotSettledFen),
        refundsPendingFen: total(institutions, (i) => i.refundsPendingFen),
        refundsRequestedFen: total(institutions, (i) => i.refundsRequestedFen),
        suspenseFen: total(institutions, (i) => i.suspenseFen),
        openDisputes: institutions.reduce((n, i) => n + i.openDisputes, 0),
        openReconciliationExceptions: institutions.reduce(
          (n, i) => n + i.openReconciliationExceptions,
          0,
        ),
        // Includes exceptions that name no institution (e.g. money on an unknown reference).
        openExceptions: rows[0].district_open_exceptions,
      },
      institutionsByStatus: byStatus,
      institutions,
    };
  }
}
