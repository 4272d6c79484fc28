import { MigrationInterface, QueryRunner } from 'typeorm';
import {
  FIND_CHECKED_TRANSACTION,
  ledgerApplyPostingFunction,
  ledgerCheckTransactionFunction,
} from './shared/ledger-functions';

/**
 * The double-entry ledger. PostgreSQL itself enforces what must never break, whatever code
 * writes: postings are append-only, every ledger transaction balances (checked at commit), a
 * non-negative account never goes below zero (a CHECK on the account row, updated under its row
 * lock by the posting trigger), and a pending transfer is posted or voided at most once.
 */
export class CreateLedger1795374600000 implements MigrationInterface {
  name = 'CreateLedger1795374600000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE ledger_accounts (
        id uuid NOT NULL DEFAULT gen_random_uuid(),
        code text NOT NULL,
        type text NOT NULL,
        institution_id uuid NOT NULL,
        order_id uuid,
        currency char(3) NOT NULL DEFAULT 'CNY',
        non_negative boolean NOT NULL DEFAULT true,
        posted_debits bigint NOT NULL DEFAULT 0,
        posted_credits bigint NOT NULL DEFAULT 0,
        pending_debits bigint NOT NULL DEFAULT 0,
        pending_credits bigint NOT NULL DEFAULT 0,
        version bigint NOT NULL DEFAULT 0,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT pk_ledger_accounts PRIMARY KEY (id),
        CONSTRAINT ck_ledger_accounts_code CHECK (code IN
          ('custody_cash', 'order_escrow', 'settlement_payable', 'refund_payable', 'suspense', 'interest')),
        CONSTRAINT ck_ledger_accounts_type CHECK (type = CASE code WHEN 'custody_cash' THEN 'asset' ELSE 'liability' END),
        CONSTRAINT ck_ledger_accounts_owner CHECK ((code = 'order_escrow') = (order_id IS NOT NULL)),
        CONSTRAINT ck_ledger_accounts_currency CHECK (currency = 'CNY'),
        CONSTRAINT ck_ledger_accounts_totals CHECK (
          posted_debits >= 0 AND posted_credits >= 0 AND pending_debits >= 0 AND pending_credits >= 0),
        CONSTRAINT ck_ledger_accounts_non_negative CHECK (NOT non_negative OR CASE type
          WHEN 'liability' THEN posted_debits + pending_debits <= posted_credits
          ELSE posted_credits + pending_credits <= posted_debits END)
      )`);
    await queryRunner.query(`CREATE UNIQUE INDEX uq_ledger_accounts_institution_code
      ON ledger_accounts (institution_id, code) WHERE order_id IS NULL`);
    await queryRunner.query(`CREATE UNIQUE INDEX uq_ledger_accounts_order_code
      ON ledger_accounts (order_id, code) WHERE order_id IS NOT NULL`);
    await queryRunner.query(`COMMENT ON TABLE ledger_accounts IS
      'Chart of accounts per institution (order_escrow per order). Balance columns are maintained only by the posting trigger.'`);

    await queryRunner.query(`
      CREATE TABLE ledger_transactions (
        id uuid NOT NULL DEFAULT gen_random_uuid(),
        seq bigint GENERATED ALWAYS AS IDENTITY,
        kind text NOT NULL,
        reference text NOT NULL,
        institution_id uuid NOT NULL,
        pending_id uuid,
        resolution text,
        reversal_of uuid,
        manual boolean NOT NULL DEFAULT false,
        metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
        created_at timestamptz NOT NULL DEFAULT now(),
        effective_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT pk_ledger_transactions PRIMARY KEY (id),
        CONSTRAINT uq_ledger_transactions_seq UNIQUE (seq),
        CONSTRAINT uq_ledger_transactions_reference UNIQUE (reference),
        CONSTRAINT uq_ledger_transactions_pending_id UNIQUE (pending_id),
        CONSTRAINT uq_ledger_transactions_reversal_of UNIQUE (reversal_of),
        CONSTRAINT fk_ledger_transactions_pending_id FOREIGN KEY (pending_id) REFERENCES ledger_transactions (id),
        CONSTRAINT fk_ledger_transactions_reversal_of FOREIGN KEY (reversal_of) REFERENCES ledger_transactions (id),
        CONSTRAINT ck_ledger_transactions_resolution CHECK (
          (pending_id IS NULL AND resolution IS NULL) OR (pending_id IS NOT NULL AND resolution IN ('post', 'void'))),
        CONSTRAINT ck_ledger_transactions_reference CHECK (length(reference) BETWEEN 1 AND 255),
        CONSTRAINT ck_ledger_transactions_kind CHECK (kind ~ '^[a-z][a-z_]{0,62}$')
      )`);
    await queryRunner.query(`CREATE INDEX ix_ledger_transactions_institution_created
      ON ledger_transactions (institution_id, created_at)`);

    await queryRunner.query(`
      CREATE TABLE ledger_postings (
        id bigint GENERATED ALWAYS AS IDENTITY,
        transaction_id uuid NOT NULL,
        account_id uuid NOT NULL,
        phase text NOT NULL,
        amount bigint NOT NULL,
        account_version bigint NOT NULL DEFAULT 0,
        posted_debits_after bigint NOT NULL DEFAULT 0,
        posted_credits_after bigint NOT NULL DEFAULT 0,
        pending_debits_after bigint NOT NULL DEFAULT 0,
        pending_credits_after bigint NOT NULL DEFAULT 0,
        recorded_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        CONSTRAINT pk_ledger_postings PRIMARY KEY (id),
        CONSTRAINT fk_ledger_postings_transaction FOREIGN KEY (transaction_id) REFERENCES ledger_transactions (id),
        CONSTRAINT fk_ledger_postings_account FOREIGN KEY (account_id) REFERENCES ledger_accounts (id),
        CONSTRAINT ck_ledger_postings_phase CHECK (phase IN ('posted', 'pending', 'resolved')),
        CONSTRAINT ck_ledger_postings_amount CHECK (amount <> 0)
      )`);
    await queryRunner.query(`COMMENT ON COLUMN ledger_postings.amount IS
      'Integer fen; debit > 0, credit < 0. Phase pending holds, resolved releases a hold, posted moves money.'`);
    await queryRunner.query(
      `CREATE INDEX ix_ledger_postings_transaction ON ledger_postings (transaction_id)`,
    );
    await queryRunner.query(`CREATE UNIQUE INDEX uq_ledger_postings_account_version
      ON ledger_postings (account_id, account_version)`);
    await queryRunner.query(`CREATE INDEX ix_ledger_postings_account_recorded
      ON ledger_postings (account_id, recorded_at)`);

    // Applies a posting to its account under the account's row lock, and stamps the posting with
    // the account's running totals so that any past balance is one index lookup away.
    await queryRunner.query(ledgerApplyPostingFunction(''));
    await queryRunner.query(`CREATE TRIGGER trg_ledger_postings_apply BEFORE INSERT ON ledger_postings
      FOR EACH ROW EXECUTE FUNCTION ledger_apply_posting()`);

    // Balance columns change only through ledger_apply_posting (which runs one trigger level down).
    await queryRunner.query(`
      CREATE FUNCTION ledger_guard_account_totals() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF pg_trigger_depth() < 2 AND (
             NEW.posted_debits, NEW.posted_credits, NEW.pending_debits, NEW.pending_credits, NEW.version,
             NEW.code, NEW.type, NEW.institution_id, NEW.order_id, NEW.currency)
           IS DISTINCT FROM (
             OLD.posted_debits, OLD.posted_credits, OLD.pending_debits, OLD.pending_credits, OLD.version,
             OLD.code, OLD.type, OLD.institution_id, OLD.order_id, OLD.currency) THEN
          RAISE EXCEPTION 'ledger account totals change only by postings' USING ERRCODE = 'EL001';
        END IF;
        RETURN NEW;
      END $$`);
    await queryRunner.query(`CREATE TRIGGER trg_ledger_accounts_guard BEFORE UPDATE ON ledger_accounts
      FOR EACH ROW EXECUTE FUNCTION ledger_guard_account_totals()`);

    await queryRunner.query(`
      CREATE FUNCTION ledger_reject_change() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION '% on % is not allowed: the ledger is append-only, correct with a reversal',
          TG_OP, TG_TABLE_NAME USING ERRCODE = 'EL002';
      END $$`);
    for (const table of ['ledger_postings', 'ledger_transactions']) {
      await queryRunner.query(`CREATE TRIGGER trg_${table}_append_only BEFORE UPDATE OR DELETE ON ${table}
        FOR EACH ROW EXECUTE FUNCTION ledger_reject_change()`);
      await queryRunner.query(`CREATE TRIGGER trg_${table}_no_truncate BEFORE TRUNCATE ON ${table}
        FOR EACH STATEMENT EXECUTE FUNCTION ledger_reject_change()`);
    }
    await queryRunner.query(`CREATE TRIGGER trg_ledger_accounts_no_delete BEFORE DELETE ON ledger_accounts
      FOR EACH ROW EXECUTE FUNCTION ledger_reject_change()`);

    // Checked at commit, once per posting of the transaction: it balances, has at least two
    // postings, stays within one institution, and a post/void or reversal mirrors its original.
    await queryRunner.query(ledgerCheckTransactionFunction(FIND_CHECKED_TRANSACTION));
    await queryRunner.query(`CREATE CONSTRAINT TRIGGER trg_ledger_postings_balanced
      AFTER INSERT ON ledger_postings DEFERRABLE INITIALLY DEFERRED
      FOR EACH ROW EXECUTE FUNCTION ledger_check_transaction()`);
    await queryRunner.query(`CREATE CONSTRAINT TRIGGER trg_ledger_transactions_balanced
      AFTER INSERT ON ledger_transactions DEFERRABLE INITIALLY DEFERRED
      FOR EACH ROW EXECUTE FUNCTION ledger_check_transaction()`);

    await queryRunner.query(`
      CREATE TABLE idempotency_keys (
        scope text NOT NULL,
        key text NOT NULL,
        fingerprint text NOT NULL,
        status_code int NOT NULL,
        response json NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT pk_idempotency_keys PRIMARY KEY (scope, key),
        CONSTRAINT ck_idempotency_keys_key CHECK (length(key) BETWEEN 1 AND 255)
      )`);
    await queryRunner.query(`COMMENT ON TABLE idempotency_keys IS
      'First response of each money-moving request, written in the same transaction as its work (json, not jsonb: a replay returns the very same text).'`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE idempotency_keys`);
    await queryRunner.query(`DROP TABLE ledger_postings`);
    await queryRunner.query(`DROP TABLE ledger_transactions`);
    await queryRunner.query(`DROP TABLE ledger_accounts`);
    await queryRunner.query(`DROP FUNCTION ledger_check_transaction()`);
    await queryRunner.query(`DROP FUNCTION ledger_reject_change()`);
    await queryRunner.query(`DROP FUNCTION ledger_guard_account_totals()`);
    await queryRunner.query(`DROP FUNCTION ledger_apply_posting()`);
  }
}
