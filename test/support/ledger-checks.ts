import { DataSource } from 'typeorm';

/**
 * The books as a whole: all postings sum to zero, and every account's stored totals equal the
 * sums of its postings. Run after every test that moves money.
 */
export async function expectBooksBalanced(dataSource: DataSource): Promise<void> {
  const [{ total }] = await dataSource.query(
    'SELECT coalesce(sum(amount), 0)::text AS total FROM ledger_postings',
  );
  expect(total).toBe('0');
  const drifted = await dataSource.query(`
    SELECT a.id FROM ledger_accounts a
    LEFT JOIN LATERAL (
      SELECT coalesce(sum(amount) FILTER (WHERE phase = 'posted' AND amount > 0), 0) AS pd,
             coalesce(-sum(amount) FILTER (WHERE phase = 'posted' AND amount < 0), 0) AS pc,
             coalesce(sum(amount) FILTER (WHERE phase = 'pending' AND amount > 0), 0)
               + coalesce(sum(amount) FILTER (WHERE phase = 'resolved' AND amount < 0), 0) AS qd,
             coalesce(-sum(amount) FILTER (WHERE phase = 'pending' AND amount < 0), 0)
               - coalesce(sum(amount) FILTER (WHERE phase = 'resolved' AND amount > 0), 0) AS qc
      FROM ledger_postings p WHERE p.account_id = a.id) s ON true
    WHERE (a.posted_debits, a.posted_credits, a.pending_debits, a.pending_credits)
          IS DISTINCT FROM (s.pd, s.pc, s.qd, s.qc)`);
  expect(drifted).toEqual([]);
}
