/**
 * SQL shared by migrations (kept out of the migrations folder's top level, where every export
 * is taken for a migration).
 */

/** The trigger's ledger transaction: the one inserted, or the one the inserted posting belongs to. */
export const FIND_CHECKED_TRANSACTION = `
        IF TG_TABLE_NAME = 'ledger_postings' THEN
          tx_id := NEW.transaction_id;
        ELSE
          tx_id := NEW.id;
        END IF;`;

/**
 * From CheckLedgerTransactionOnce on: as FIND_CHECKED_TRANSACTION, but an event leaves the check
 * to a later event of the same database transaction (that migration says when).
 */
export const FIND_UNCHECKED_TRANSACTION = `
        IF TG_TABLE_NAME = 'ledger_postings' THEN
          tx_id := NEW.transaction_id;
          IF EXISTS (SELECT 1 FROM ledger_postings
                     WHERE transaction_id = tx_id AND id > NEW.id
                       AND xmin = pg_current_xact_id()::xid) THEN
            RETURN NULL;
          END IF;
        ELSE
          tx_id := NEW.id;
          IF EXISTS (SELECT 1 FROM ledger_postings
                     WHERE transaction_id = tx_id AND xmin = pg_current_xact_id()::xid) THEN
            RETURN NULL;
          END IF;
        END IF;`;

/**
 * Whether the ledger transaction `tx` (a row with id and resolution) fails to resolve its hold
 * exactly: per account, it must cancel what the hold (tx.pending_id) holds ('resolved', opposite
 * sign), hold nothing again, and, when posting, move exactly the amount held; when voiding, move
 * nothing.
 */
const MISMATCHES_ITS_HOLD = `EXISTS (
          SELECT 1
          FROM (SELECT account_id, sum(amount) AS held FROM ledger_postings
                WHERE transaction_id = tx.pending_id AND phase = 'pending' GROUP BY account_id) h
          FULL JOIN (SELECT account_id,
                            sum(amount) FILTER (WHERE phase = 'resolved') AS released,
                            sum(amount) FILTER (WHERE phase = 'posted') AS moved,
                            count(*) FILTER (WHERE phase = 'pending') AS held_again
                     FROM ledger_postings WHERE transaction_id = tx.id GROUP BY account_id) r
            USING (account_id)
          WHERE h.held IS NULL OR r.released IS NULL OR r.released <> -h.held OR r.held_again > 0
             OR (tx.resolution = 'post' AND r.moved IS DISTINCT FROM h.held)
             OR (tx.resolution = 'void' AND r.moved IS NOT NULL))`;

/**
 * Whether the ledger transaction `tx` fails to reverse its original (tx.reversal_of) exactly: per
 * account, only posted postings, the opposite of the original's.
 */
const MISMATCHES_ITS_ORIGINAL = `EXISTS (
          SELECT 1
          FROM (SELECT account_id, sum(amount) AS amount FROM ledger_postings
                WHERE transaction_id = tx.reversal_of AND phase = 'posted' GROUP BY account_id) o
          FULL JOIN (SELECT account_id, sum(amount) AS amount, count(*) FILTER (WHERE phase <> 'posted') AS other
                     FROM ledger_postings WHERE transaction_id = tx.id GROUP BY account_id) r
            USING (account_id)
          WHERE o.amount IS NULL OR r.amount IS NULL OR r.amount <> -o.amount OR r.other > 0)`;

/**
 * The error of each rule a ledger transaction can break (PL/pgSQL RAISE statements), for the
 * transaction in record `tx` (its reference, and its resolution for a post or void).
 */
const REFUSE = {
  unbalanced: (tx: string, total: string, posted: string) => `
          RAISE EXCEPTION 'ledger transaction % does not balance (total %, posted %)', ${tx}.reference, ${total}, ${posted}
            USING ERRCODE = 'check_violation', CONSTRAINT = 'ck_ledger_transaction_balanced';`,
  tooFewPostings: (tx: string) => `
          RAISE EXCEPTION 'ledger transaction % needs at least two postings', ${tx}.reference
            USING ERRCODE = 'check_violation', CONSTRAINT = 'ck_ledger_transaction_postings';`,
  spansInstitutions: (tx: string) => `
          RAISE EXCEPTION 'ledger transaction % spans institutions', ${tx}.reference
            USING ERRCODE = 'check_violation', CONSTRAINT = 'ck_ledger_transaction_institution';`,
  unnamedHold: (tx: string) => `
          RAISE EXCEPTION 'ledger transaction % releases a hold without naming it', ${tx}.reference
            USING ERRCODE = 'check_violation', CONSTRAINT = 'ck_ledger_transaction_resolution';`,
  notItsHold: (tx: string) => `
          RAISE EXCEPTION 'ledger transaction % does not exactly % its pending transfer', ${tx}.reference, ${tx}.resolution
            USING ERRCODE = 'check_violation', CONSTRAINT = 'ck_ledger_transaction_resolution';`,
  notItsOriginal: (tx: string) => `
          RAISE EXCEPTION 'ledger transaction % does not exactly reverse its original', ${tx}.reference
            USING ERRCODE = 'check_violation', CONSTRAINT = 'ck_ledger_transaction_reversal';`,
};

/**
 * ledger_check_transaction(), the constraint trigger function checking one ledger transaction: its
 * postings balance, there are at least two, it stays within one institution, a post/void or a
 * reversal mirrors its original. `findTransaction` sets `tx_id` (and may RETURN NULL to leave the
 * check to another event). Later migrations replace the function through this.
 */
export function ledgerCheckTransactionFunction(findTransaction: string): string {
  return `
      CREATE OR REPLACE FUNCTION ledger_check_transaction() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE
        tx ledger_transactions%ROWTYPE;
        tx_id uuid;
        total bigint;
        posted bigint;
        postings int;
        resolved int;
      BEGIN${findTransaction}
        SELECT * INTO tx FROM ledger_transactions WHERE id = tx_id;
        SELECT coalesce(sum(amount), 0), coalesce(sum(amount) FILTER (WHERE phase = 'posted'), 0),
               count(*), count(*) FILTER (WHERE phase = 'resolved')
          INTO total, posted, postings, resolved
          FROM ledger_postings WHERE transaction_id = tx.id;
        IF total <> 0 OR posted <> 0 THEN${REFUSE.unbalanced('tx', 'total', 'posted')}
        END IF;
        IF postings < 2 THEN${REFUSE.tooFewPostings('tx')}
        END IF;
        IF EXISTS (SELECT 1 FROM ledger_postings p JOIN ledger_accounts a ON a.id = p.account_id
                   WHERE p.transaction_id = tx.id AND a.institution_id <> tx.institution_id) THEN${REFUSE.spansInstitutions('tx')}
        END IF;
        IF tx.pending_id IS NULL AND resolved > 0 THEN${REFUSE.unnamedHold('tx')}
        END IF;
        IF tx.pending_id IS NOT NULL AND ${MISMATCHES_ITS_HOLD} THEN${REFUSE.notItsHold('tx')}
        END IF;
        IF tx.reversal_of IS NOT NULL AND ${MISMATCHES_ITS_ORIGINAL} THEN${REFUSE.notItsOriginal('tx')}
        END IF;
        RETURN NULL;
      END $$`;
}

/** Postings take their id from the sequence, whatever the INSERT said (see CheckLedgerTransactionOnce). */
export const POSTING_ID_FROM_SEQUENCE = `
        NEW.id := nextval('ledger_postings_id_seq'::regclass);`;

type Total = 'posted_debits' | 'posted_credits' | 'pending_debits' | 'pending_credits';

/** What the posting NEW adds to each of its account's totals (debit > 0, credit < 0). */
const POSTING_ADDS: Record<Total, string> = {
  posted_debits: `CASE WHEN NEW.phase = 'posted' AND NEW.amount > 0 THEN NEW.amount ELSE 0 END`,
  posted_credits: `CASE WHEN NEW.phase = 'posted' AND NEW.amount < 0 THEN -NEW.amount ELSE 0 END`,
  pending_debits: `CASE WHEN NEW.phase = 'pending' AND NEW.amount > 0 THEN NEW.amount
                   WHEN NEW.phase = 'resolved' AND NEW.amount < 0 THEN NEW.amount ELSE 0 END`,
  pending_credits: `CASE WHEN NEW.phase = 'pending' AND NEW.amount < 0 THEN -NEW.amount
                   WHEN NEW.phase = 'resolved' AND NEW.amount > 0 THEN -NEW.amount ELSE 0 END`,
};
const TOTALS = Object.keys(POSTING_ADDS) as Total[];

/** After reading the posting's account INTO account: a posting needs an account. */
const ACCOUNT_MUST_EXIST = `
        IF NOT FOUND THEN
          RAISE EXCEPTION 'ledger account % does not exist', NEW.account_id
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'fk_ledger_postings_account';
        END IF;`;

/**
 * ledger_apply_posting(), the BEFORE INSERT trigger function of postings (up to
 * ApplyPostingsPerStatement): applies a posting to its account under the account's row lock, and
 * stamps the posting with the account's running totals so that any past balance is one index
 * lookup away. `prelude` (PL/pgSQL) runs first.
 */
export function ledgerApplyPostingFunction(prelude: string): string {
  return `
      CREATE OR REPLACE FUNCTION ledger_apply_posting() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE
        account ledger_accounts%ROWTYPE;
      BEGIN${prelude}
        UPDATE ledger_accounts SET
          ${TOTALS.map((total) => `${total} = ${total}\n            + ${POSTING_ADDS[total]},`).join('\n          ')}
          version = version + 1
        WHERE id = NEW.account_id
        RETURNING * INTO account;${ACCOUNT_MUST_EXIST}
        NEW.account_version := account.version;
        ${TOTALS.map((total) => `NEW.${total}_after := account.${total};`).join('\n        ')}
        NEW.recorded_at := clock_timestamp();
        RETURN NEW;
      END $$`;
}

/**
 * ledger_apply_posting() from ApplyPostingsPerStatement on: stamps a posting with its account's
 * next version and running totals, and refuses it when they break the account's limits, without
 * writing the account (a statement trigger does that once). The state the posting follows is the
 * account row's, locked as the UPDATE locked it, or, when this statement already inserted postings
 * of the account, the last of those: a row trigger's queries see the rows its statement inserted
 * before, and they are the only postings newer than their account row. `prelude` (PL/pgSQL) runs
 * first.
 */
export function ledgerStampPostingFunction(prelude: string): string {
  return `
      CREATE OR REPLACE FUNCTION ledger_apply_posting() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE
        account record;
      BEGIN${prelude}
        SELECT a.type, a.non_negative, coalesce(p.account_version, a.version) AS version,
               ${TOTALS.map((total) => `coalesce(p.${total}_after, a.${total}) AS ${total}`).join(',\n               ')}
          INTO account
          FROM ledger_accounts a
          LEFT JOIN LATERAL (
            SELECT * FROM ledger_postings
            WHERE account_id = a.id AND account_version > a.version
            ORDER BY account_version DESC LIMIT 1) p ON true
         WHERE a.id = NEW.account_id
           FOR NO KEY UPDATE OF a;${ACCOUNT_MUST_EXIST}
        NEW.account_version := account.version + 1;
        ${TOTALS.map((total) => `NEW.${total}_after := account.${total}\n          + ${POSTING_ADDS[total]};`).join('\n        ')}
        IF least(NEW.posted_debits_after, NEW.posted_credits_after,
                 NEW.pending_debits_after, NEW.pending_credits_after) < 0 THEN
          RAISE EXCEPTION 'posting would take the totals of ledger account % below zero (ck_ledger_accounts_totals)', NEW.account_id
            USING ERRCODE = 'check_violation', TABLE = 'ledger_accounts', CONSTRAINT = 'ck_ledger_accounts_totals';
        END IF;
        IF account.non_negative AND NOT (CASE account.type
             WHEN 'liability' THEN NEW.posted_debits_after + NEW.pending_debits_after <= NEW.posted_credits_after
             ELSE NEW.posted_credits_after + NEW.pending_credits_after <= NEW.posted_debits_after END) THEN
          RAISE EXCEPTION 'posting would take ledger account % past its balance (ck_ledger_accounts_non_negative)', NEW.account_id
            USING ERRCODE = 'check_violation', TABLE = 'ledger_accounts', CONSTRAINT = 'ck_ledger_accounts_non_negative';
        END IF;
        NEW.recorded_at := clock_timestamp();
        RETURN NEW;
      END $$`;
}

/**
 * ledger_apply_postings(), the AFTER INSERT statement trigger function of postings (from
 * ApplyPostingsPerStatement on): writes each account's last stamp to its row once, and fails the
 * statement (EL003) when something kept an account from being brought up to its postings.
 */
export function ledgerApplyStampedPostingsFunction(): string {
  return `
      CREATE OR REPLACE FUNCTION ledger_apply_postings() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE
        behind uuid;
      BEGIN
        WITH last AS (
          SELECT DISTINCT ON (account_id) * FROM inserted_postings
          ORDER BY account_id, account_version DESC
        ), written AS (
          UPDATE ledger_accounts a SET
            posted_debits = p.posted_debits_after,
            posted_credits = p.posted_credits_after,
            pending_debits = p.pending_debits_after,
            pending_credits = p.pending_credits_after,
            version = p.account_version
          FROM last p
          WHERE a.id = p.account_id AND a.version < p.account_version
          RETURNING a.id
        )
        SELECT a.id INTO behind
          FROM last p JOIN ledger_accounts a ON a.id = p.account_id
         WHERE a.version < p.account_version AND a.id NOT IN (SELECT id FROM written)
         LIMIT 1;
        IF FOUND THEN
          RAISE EXCEPTION 'ledger account % was not brought up to its postings', behind
            USING ERRCODE = 'EL003';
        END IF;
        RETURN NULL;
      END $$`;
}

/** The posts, voids and reversals of the transactions `ids` (an array of their ids). */
export const mirrorsOf = (ids: string) => `SELECT id FROM ledger_transactions
                            WHERE pending_id = ANY (${ids}) OR reversal_of = ANY (${ids})`;

/**
 * ledger_check_transactions(ids), from CheckLedgerTransactionsPerStatement on: checks the ledger
 * transactions `ids` together, a few queries for all of them, by the rules (and with the errors)
 * ledger_check_transaction checked one at a time: each balances, has at least two postings, stays
 * within its institution, names the hold it releases, and a post/void or reversal mirrors its
 * original. The posts, voids and reversals of `ids` are checked with them: their mirror reads the
 * postings of a transaction in `ids`; and a transaction in `ids` written before is locked, so
 * that no other session writes a mirror of it unseen until this one commits. Raises for the first
 * rule a transaction breaks, in that order (the rules whose data one aggregate gives, then the
 * mirrors).
 *
 * Its queries always run with their generic plans: left to choose, PostgreSQL planned them afresh
 * on every call (a custom plan for each array of ids), which took longer than running them (about
 * 0.7 ms a call, against 0.12 ms for one transaction). A session keeps a generic plan, and one made
 * while the tables were small would keep scanning them whole as they grow (seeding 60,000 lessons
 * took 24 s instead of 9 s): every lookup here is by key, so the function never scans a table
 * sequentially (enable_seqscan off). For the mirrors, the transactions are fetched by id first
 * (MATERIALIZED), so that no plan starts from the index of every pending_id or reversal_of instead;
 * one query finds a post, void or reversal that does not mirror its original.
 */
export function ledgerCheckTransactionsFunction(): string {
  return `
      CREATE OR REPLACE FUNCTION ledger_check_transactions(ids uuid[]) RETURNS void LANGUAGE plpgsql
        SET plan_cache_mode = force_generic_plan SET enable_seqscan = off AS $$
      DECLARE
        bad record;
      BEGIN
        -- A post, void or reversal mirrors another transaction: postings added to that one can
        -- break it, so it is checked again with it. Locking a transaction written before keeps
        -- another session from adding a mirror of it meanwhile (the mirror's foreign key takes
        -- FOR KEY SHARE on it), and one added already is read once the lock is held.
        PERFORM FROM ledger_transactions
          WHERE id = ANY (ids) AND xmin <> pg_current_xact_id()::xid
          FOR UPDATE;
        ids := ids || ARRAY(${mirrorsOf('ids')});
        SELECT tx.reference, tx.pending_id, s.* INTO bad
          FROM ledger_transactions tx
          CROSS JOIN LATERAL (
            SELECT coalesce(sum(p.amount), 0) AS total,
                   coalesce(sum(p.amount) FILTER (WHERE p.phase = 'posted'), 0) AS posted,
                   count(*) AS postings,
                   count(*) FILTER (WHERE p.phase = 'resolved') AS resolved,
                   count(*) FILTER (WHERE a.institution_id <> tx.institution_id) AS foreign_postings
            FROM ledger_postings p JOIN ledger_accounts a ON a.id = p.account_id
            WHERE p.transaction_id = tx.id) s
         WHERE tx.id = ANY (ids)
           AND (s.total <> 0 OR s.posted <> 0 OR s.postings < 2 OR s.foreign_postings > 0
                OR (tx.pending_id IS NULL AND s.resolved > 0))
         LIMIT 1;
        IF FOUND THEN
          IF bad.total <> 0 OR bad.posted <> 0 THEN${REFUSE.unbalanced('bad', 'bad.total', 'bad.posted')}
          ELSIF bad.postings < 2 THEN${REFUSE.tooFewPostings('bad')}
          ELSIF bad.foreign_postings > 0 THEN${REFUSE.spansInstitutions('bad')}
          ELSE${REFUSE.unnamedHold('bad')}
          END IF;
        END IF;
        WITH tx AS MATERIALIZED (SELECT * FROM ledger_transactions WHERE id = ANY (ids))
        SELECT tx.reference, tx.resolution,
               tx.pending_id IS NOT NULL AND ${MISMATCHES_ITS_HOLD} AS not_its_hold INTO bad
          FROM tx
         WHERE (tx.pending_id IS NOT NULL AND ${MISMATCHES_ITS_HOLD})
            OR (tx.reversal_of IS NOT NULL AND ${MISMATCHES_ITS_ORIGINAL})
         LIMIT 1;
        IF FOUND THEN
          IF bad.not_its_hold THEN${REFUSE.notItsHold('bad')}
          ELSE${REFUSE.notItsOriginal('bad')}
          END IF;
        END IF;
      END $$`;
}
