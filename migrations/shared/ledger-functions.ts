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
        IF total <> 0 OR posted <> 0 THEN
          RAISE EXCEPTION 'ledger transaction % does not balance (total %, posted %)', tx.reference, total, posted
            USING ERRCODE = 'check_violation', CONSTRAINT = 'ck_ledger_transaction_balanced';
        END IF;
        IF postings < 2 THEN
          RAISE EXCEPTION 'ledger transaction % needs at least two postings', tx.reference
            USING ERRCODE = 'check_violation', CONSTRAINT = 'ck_ledger_transaction_postings';
        END IF;
        IF EXISTS (SELECT 1 FROM ledger_postings p JOIN ledger_accounts a ON a.id = p.account_id
                   WHERE p.transaction_id = tx.id AND a.institution_id <> tx.institution_id) THEN
          RAISE EXCEPTION 'ledger transaction % spans institutions', tx.reference
            USING ERRCODE = 'check_violation', CONSTRAINT = 'ck_ledger_transaction_institution';
        END IF;
        IF tx.pending_id IS NULL AND resolved > 0 THEN
          RAISE EXCEPTION 'ledger transaction % releases a hold without naming it', tx.reference
            USING ERRCODE = 'check_violation', CONSTRAINT = 'ck_ledger_transaction_resolution';
        END IF;
        IF tx.pending_id IS NOT NULL AND EXISTS (
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
             OR (tx.resolution = 'void' AND r.moved IS NOT NULL)) THEN
          RAISE EXCEPTION 'ledger transaction % does not exactly % its pending transfer', tx.reference, tx.resolution
            USING ERRCODE = 'check_violation', CONSTRAINT = 'ck_ledger_transaction_resolution';
        END IF;
        IF tx.reversal_of IS NOT NULL AND EXISTS (
          SELECT 1
          FROM (SELECT account_id, sum(amount) AS amount FROM ledger_postings
                WHERE transaction_id = tx.reversal_of AND phase = 'posted' GROUP BY account_id) o
          FULL JOIN (SELECT account_id, sum(amount) AS amount, count(*) FILTER (WHERE phase <> 'posted') AS other
                     FROM ledger_postings WHERE transaction_id = tx.id GROUP BY account_id) r
            USING (account_id)
          WHERE o.amount IS NULL OR r.amount IS NULL OR r.amount <> -o.amount OR r.other > 0) THEN
          RAISE EXCEPTION 'ledger transaction % does not exactly reverse its original', tx.reference
            USING ERRCODE = 'check_violation', CONSTRAINT = 'ck_ledger_transaction_reversal';
        END IF;
        RETURN NULL;
      END $$`;
}

/**
 * ledger_apply_posting(), the BEFORE INSERT trigger function of postings: applies a posting to its
 * account under the account's row lock, and stamps the posting with the account's running totals
 * so that any past balance is one index lookup away. `prelude` (PL/pgSQL) runs first. Later
 * migrations replace the function through this.
 */
export function ledgerApplyPostingFunction(prelude: string): string {
  return `
      CREATE OR REPLACE FUNCTION ledger_apply_posting() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE
        account ledger_accounts%ROWTYPE;
      BEGIN${prelude}
        UPDATE ledger_accounts SET
          posted_debits = posted_debits
            + CASE WHEN NEW.phase = 'posted' AND NEW.amount > 0 THEN NEW.amount ELSE 0 END,
          posted_credits = posted_credits
            + CASE WHEN NEW.phase = 'posted' AND NEW.amount < 0 THEN -NEW.amount ELSE 0 END,
          pending_debits = pending_debits
            + CASE WHEN NEW.phase = 'pending' AND NEW.amount > 0 THEN NEW.amount
                   WHEN NEW.phase = 'resolved' AND NEW.amount < 0 THEN NEW.amount ELSE 0 END,
          pending_credits = pending_credits
            + CASE WHEN NEW.phase = 'pending' AND NEW.amount < 0 THEN -NEW.amount
                   WHEN NEW.phase = 'resolved' AND NEW.amount > 0 THEN -NEW.amount ELSE 0 END,
          version = version + 1
        WHERE id = NEW.account_id
        RETURNING * INTO account;
        IF NOT FOUND THEN
          RAISE EXCEPTION 'ledger account % does not exist', NEW.account_id
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'fk_ledger_postings_account';
        END IF;
        NEW.account_version := account.version;
        NEW.posted_debits_after := account.posted_debits;
        NEW.posted_credits_after := account.posted_credits;
        NEW.pending_debits_after := account.pending_debits;
        NEW.pending_credits_after := account.pending_credits;
        NEW.recorded_at := clock_timestamp();
        RETURN NEW;
      END $$`;
}
