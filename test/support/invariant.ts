import { DataSource } from 'typeorm';

/**
 * DESIGN.md rule 10, per institution: custody cash = order escrow + settlement payable + refund
 * payable + suspense (+ interest), and no account below zero.
 */
export async function expectInstitutionInvariant(
  dataSource: DataSource,
  institutionId: string,
): Promise<void> {
  const [row] = await dataSource.query(
    `SELECT
       coalesce(sum(posted_debits - posted_credits) FILTER (WHERE type = 'asset'), 0)::text AS assets,
       coalesce(sum(posted_credits - posted_debits) FILTER (WHERE type = 'liability'), 0)::text AS liabilities,
       count(*) FILTER (WHERE (type = 'asset' AND posted_debits < posted_credits)
                          OR (type = 'liability' AND posted_credits < posted_debits))::int AS negative
     FROM ledger_accounts WHERE institution_id = $1`,
    [institutionId],
  );
  expect(row.assets).toBe(row.liabilities);
  expect(row.negative).toBe(0);
}
