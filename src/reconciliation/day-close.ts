/**
 * The daily close (DESIGN.md §5.6, R-REC-06): for each day of a custody account, the bank's
 * closing balance against custody_cash at the end of that China day, read from the postings'
 * running totals (the latest posting recorded before the next midnight).
 *
 * A movement the bank and the ledger booked on different sides of midnight is in transit: it
 * explains part of the gap and is counted apart (`in_transit_fen`). The difference is what
 * nothing explains: bank − ledger − in transit. A day closes when the difference is zero, no
 * exception of that day is open and every line of that day has been through matching.
 */
import { EntityManager } from 'typeorm';
import type { CustodyAccount } from './custody-account';

export const CHINA_ZONE = 'Asia/Shanghai';

/**
 * Re-evaluates the account's open days and the days from..to (a statement's period). Returns the
 * number of days evaluated.
 */
export async function evaluateDays(
  manager: EntityManager,
  account: CustodyAccount,
  period?: { from: string; to: string },
): Promise<number> {
  const [, count]: [unknown, number] = await manager.query(
    `WITH d AS (
       SELECT day FROM reconciliation_days
       WHERE account_no = $1
         AND (status = 'open' OR ($2::date IS NOT NULL AND day BETWEEN $2::date AND $3::date))
     ),
     figures AS (
       SELECT d.day,
         coalesce((
           SELECT p.posted_debits_after - p.posted_credits_after FROM ledger_postings p
           WHERE p.account_id = $4
             AND p.recorded_at < ((d.day + 1)::timestamp AT TIME ZONE '${CHINA_ZONE}')
           ORDER BY p.recorded_at DESC, p.account_version DESC LIMIT 1), 0) AS ledger,
         coalesce((
           SELECT sum(CASE WHEN l.direction = 'credit' THEN l.amount_fen ELSE -l.amount_fen END
                      * CASE WHEN l.booking_date <= d.day THEN 1 ELSE -1 END)
           FROM reconciliation_lines l
           WHERE l.account_no = $1 AND l.ledger_date <> l.booking_date
             AND (l.booking_date <= d.day) <> (l.ledger_date <= d.day)), 0) AS in_transit,
         (SELECT count(*) FROM reconciliation_exceptions e
          WHERE e.account_no = $1 AND e.status = 'open' AND e.business_date = d.day)::int AS open_exceptions,
         (SELECT count(*) FROM reconciliation_lines l
          WHERE l.account_no = $1 AND l.booking_date = d.day AND l.status = 'unmatched')::int AS unmatched
       FROM d
     ),
     judged AS (
       SELECT f.*, r.bank_closing_fen - f.ledger - f.in_transit AS difference
       FROM figures f JOIN reconciliation_days r ON r.account_no = $1 AND r.day = f.day
     )
     UPDATE reconciliation_days r SET
       ledger_balance_fen = j.ledger,
       in_transit_fen = j.in_transit,
       difference_fen = j.difference,
       open_exceptions = j.open_exceptions,
       unmatched_lines = j.unmatched,
       status = CASE WHEN j.difference = 0 AND j.open_exceptions = 0 AND j.unmatched = 0
                     THEN 'closed' ELSE 'open' END,
       closed_at = CASE WHEN j.difference = 0 AND j.open_exceptions = 0 AND j.unmatched = 0
                        THEN coalesce(r.closed_at, now()) END,
       evaluated_at = now()
     FROM judged j
     WHERE r.account_no = $1 AND r.day = j.day`,
    [account.accountNo, period?.from ?? null, period?.to ?? null, account.custodyCashAccountId],
  );
  return count;
}
