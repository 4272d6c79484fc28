/**
 * What must still hold after the load: every lesson answered as confirmed is confirmed in the
 * database with its Idempotency-Key stored (durable when answered); every confirmed lesson was
 * released exactly once, by the posting of its own hold; every ledger transaction balances; every
 * account's totals are the sum of its postings; the books as a whole balance and agree with the
 * lessons' fees.
 */
import { Client } from 'pg';
import { lessonIdSql, parentIdSql } from './seed';

export interface LedgerChecks {
  ok: boolean;
  lessonsConfirmed: number;
  lessonsAwaiting: number;
  releases: number;
  /** Answered 200 by the service but not confirmed, or without its idempotency record. */
  answeredNotDurable: number;
  /** Confirmed without exactly one release that posts the lesson's own hold. */
  confirmedNotReleasedOnce: number;
  /** Holds resolved while their lesson still awaits confirmation, or resolved twice. */
  strayReleases: number;
  unbalancedTransactions: number;
  accountsOffTheirPostings: number;
  /** Sum of all debits minus all credits, posted and pending: both 0 when the books balance. */
  trialBalanceFen: { posted: number; pending: number };
  /** settlement_payable's posted credits minus the fees of confirmed lessons; pending likewise. */
  feesVersusLedgerFen: { released: number; held: number };
}

const count = async (client: Client, sql: string, params: unknown[] = []) =>
  Number((await client.query<{ n: string }>(sql, params)).rows[0].n);

export async function checkLedger(
  databaseUrl: string,
  answered: {
    ordinals: number[];
    idempotencyKey: (ordinal: number) => string;
    lessonsPerOrder: number;
  },
): Promise<LedgerChecks> {
  const client = new Client({ connectionString: databaseUrl, application_name: 'bench checks' });
  await client.connect();
  try {
    const lessons = (
      await client.query<{ confirmed: string; awaiting: string }>(
        `SELECT count(*) FILTER (WHERE status = 'confirmed') AS confirmed,
                count(*) FILTER (WHERE status = 'awaiting_confirmation') AS awaiting
         FROM lessons`,
      )
    ).rows[0];
    const answeredNotDurable = await count(
      client,
      `SELECT count(*) AS n
       FROM unnest($1::int[], $2::text[]) AS a(ordinal, key)
       LEFT JOIN lessons l ON l.id = ${lessonIdSql('a.ordinal')} AND l.status = 'confirmed'
       LEFT JOIN idempotency_keys k
         ON k.scope = 'parent:' || ${parentIdSql('(a.ordinal / $3::int)')} AND k.key = a.key
       WHERE l.id IS NULL OR k.key IS NULL`,
      [answered.ordinals, answered.ordinals.map(answered.idempotencyKey), answered.lessonsPerOrder],
    );
    const confirmedNotReleasedOnce = await count(
      client,
      `SELECT count(*) AS n FROM lessons l
       WHERE l.status = 'confirmed' AND (
         SELECT count(*) FROM ledger_transactions t
         WHERE t.pending_id = l.hold_transaction_id AND t.resolution = 'post'
           AND t.id = l.settle_transaction_id AND t.reference = 'lesson:' || l.id || ':release'
       ) <> 1`,
    );
    const strayReleases = await count(
      client,
      `SELECT (SELECT count(*) FROM ledger_transactions t
               JOIN lessons l ON l.hold_transaction_id = t.pending_id
               WHERE l.status = 'awaiting_confirmation')
            + (SELECT count(*) FROM (SELECT pending_id FROM ledger_transactions
                                     WHERE pending_id IS NOT NULL
                                     GROUP BY pending_id HAVING count(*) > 1) twice) AS n`,
    );
    const releases = await count(
      client,
      `SELECT count(*) AS n FROM ledger_transactions WHERE kind = 'lesson_release'`,
    );
    const unbalancedTransactions = await count(
      client,
      `SELECT count(*) AS n FROM (
         SELECT t.id FROM ledger_transactions t LEFT JOIN ledger_postings p ON p.transaction_id = t.id
         GROUP BY t.id
         HAVING coalesce(sum(p.amount), 0) <> 0
             OR coalesce(sum(p.amount) FILTER (WHERE p.phase = 'posted'), 0) <> 0
             OR count(p.id) < 2) unbalanced`,
    );
    const accountsOffTheirPostings = await count(
      client,
      `SELECT count(*) AS n
       FROM ledger_accounts a
       LEFT JOIN (
         SELECT account_id,
                sum(amount) FILTER (WHERE phase = 'posted' AND amount > 0) AS posted_debits,
                -sum(amount) FILTER (WHERE phase = 'posted' AND amount < 0) AS posted_credits,
                sum(amount) FILTER (WHERE (phase = 'pending' AND amount > 0)
                                       OR (phase = 'resolved' AND amount < 0)) AS pending_debits,
                -sum(amount) FILTER (WHERE (phase = 'pending' AND amount < 0)
                                        OR (phase = 'resolved' AND amount > 0)) AS pending_credits
         FROM ledger_postings GROUP BY account_id) p ON p.account_id = a.id
       WHERE (a.posted_debits, a.posted_credits, a.pending_debits, a.pending_credits)
             IS DISTINCT FROM (coalesce(p.posted_debits, 0), coalesce(p.posted_credits, 0),
                               coalesce(p.pending_debits, 0), coalesce(p.pending_credits, 0))`,
    );
    const books = (
      await client.query<{ posted: string; pending: string; released: string; held: string }>(
        `SELECT sum(posted_debits - posted_credits) AS posted,
                sum(pending_debits - pending_credits) AS pending,
                sum(posted_credits) FILTER (WHERE code = 'settlement_payable')
                  - (SELECT coalesce(sum(fee_fen), 0) FROM lessons WHERE status = 'confirmed') AS released,
                sum(pending_credits) FILTER (WHERE code = 'settlement_payable')
                  - (SELECT coalesce(sum(fee_fen), 0) FROM lessons
                     WHERE status = 'awaiting_confirmation') AS held
         FROM ledger_accounts`,
      )
    ).rows[0];
    const checks = {
      lessonsConfirmed: Number(lessons.confirmed),
      lessonsAwaiting: Number(lessons.awaiting),
      releases,
      answeredNotDurable,
      confirmedNotReleasedOnce,
      strayReleases,
      unbalancedTransactions,
      accountsOffTheirPostings,
      trialBalanceFen: { posted: Number(books.posted), pending: Number(books.pending) },
      feesVersusLedgerFen: { released: Number(books.released), held: Number(books.held) },
    };
    return {
      ok:
        checks.releases === checks.lessonsConfirmed &&
        answeredNotDurable === 0 &&
        confirmedNotReleasedOnce === 0 &&
        strayReleases === 0 &&
        unbalancedTransactions === 0 &&
        accountsOffTheirPostings === 0 &&
        checks.trialBalanceFen.posted === 0 &&
        checks.trialBalanceFen.pending === 0 &&
        checks.feesVersusLedgerFen.released === 0 &&
        checks.feesVersusLedgerFen.held === 0,
      ...checks,
    };
  } finally {
    await client.end();
  }
}
