import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What the bureau's audit needs: the hash-chained seal blocks over ledger transactions, the trail
 * of audit requests, and the indexes that keep audit reads off full scans.
 *
 * Sealing order. `seq` is assigned when a transaction inserts, not when it commits, so a lower
 * seq can commit after a higher one. Each ledger transaction therefore records the id of the
 * database transaction that wrote it (`created_xid`, 64-bit, never wraps). Every id below
 * `pg_snapshot_xmin(pg_current_snapshot())` belongs to a finished transaction, so the set of
 * ledger transactions with `created_xid` below that horizon can no longer grow. The sealer takes
 * them in (created_xid, seq) order, after the last sealed key: nothing committed is ever skipped,
 * and the blocks tile the key space, so a row inserted or deleted behind the seal changes some
 * block's recomputed hash. The horizon is the server's: a long write transaction in any database
 * of the server delays sealing until it ends, and never makes it skip anything.
 */
export class CreateAuditTrailAndSealing1795376000000 implements MigrationInterface {
  name = 'CreateAuditTrailAndSealing1795376000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    // A volatile default: existing rows take this migration's transaction id, which is final
    // once it commits; new rows take the id of the transaction that writes them.
    await queryRunner.query(`ALTER TABLE ledger_transactions
      ADD COLUMN created_xid xid8 NOT NULL DEFAULT pg_current_xact_id()`);
    await queryRunner.query(`COMMENT ON COLUMN ledger_transactions.created_xid IS
      'Top-level id of the database transaction that wrote the row: the sealing order is (created_xid, seq).'`);
    await queryRunner.query(`CREATE INDEX ix_ledger_transactions_seal_key
      ON ledger_transactions (created_xid, seq)`);
    // An order's refunds and their payouts, for its history (a payout touches no escrow account).
    await queryRunner.query(`CREATE INDEX ix_refunds_order ON refunds (order_id)`);
    await queryRunner.query(`CREATE INDEX ix_bank_instructions_subject
      ON bank_instructions (subject_id)`);
    // The journal in time order, district-wide; per account, ix_ledger_postings_account_recorded.
    await queryRunner.query(`CREATE INDEX ix_ledger_postings_recorded
      ON ledger_postings (recorded_at, id)`);
    // Every account of an institution, order_escrow included (the unique index skips those).
    await queryRunner.query(`CREATE INDEX ix_ledger_accounts_institution
      ON ledger_accounts (institution_id, code)`);
    await queryRunner.query(`CREATE INDEX ix_lessons_disputed
      ON lessons (institution_id) WHERE status = 'disputed'`);

    await queryRunner.query(`
      CREATE FUNCTION audit_reject_change() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION '% on % is not allowed: audit records are append-only', TG_OP, TG_TABLE_NAME
          USING ERRCODE = 'EL003';
      END $$`);

    await queryRunner.query(`
      CREATE TABLE ledger_seal_blocks (
        height bigint NOT NULL,
        format text NOT NULL,
        algorithm text NOT NULL,
        first_xid xid8 NOT NULL,
        first_seq bigint NOT NULL,
        last_xid xid8 NOT NULL,
        last_seq bigint NOT NULL,
        transaction_count int NOT NULL,
        posting_count int NOT NULL,
        transactions_hash text NOT NULL,
        previous_hash text NOT NULL,
        block_hash text NOT NULL,
        sealed_at timestamptz NOT NULL,
        CONSTRAINT pk_ledger_seal_blocks PRIMARY KEY (height),
        CONSTRAINT uq_ledger_seal_blocks_previous_hash UNIQUE (previous_hash),
        CONSTRAINT uq_ledger_seal_blocks_block_hash UNIQUE (block_hash),
        CONSTRAINT uq_ledger_seal_blocks_last_key UNIQUE (last_xid, last_seq),
        CONSTRAINT ck_ledger_seal_blocks_algorithm CHECK (algorithm IN ('sm3', 'sha256')),
        CONSTRAINT ck_ledger_seal_blocks_range CHECK (
          height > 0 AND transaction_count > 0 AND posting_count >= 0
          AND (first_xid, first_seq) <= (last_xid, last_seq)),
        CONSTRAINT ck_ledger_seal_blocks_hashes CHECK (
          transactions_hash ~ '^[0-9a-f]{64}$' AND previous_hash ~ '^[0-9a-f]{64}$'
          AND block_hash ~ '^[0-9a-f]{64}$')
      )`);
    await queryRunner.query(`COMMENT ON TABLE ledger_seal_blocks IS
      'Hash chain over ledger transactions in (created_xid, seq) order. Block n covers the keys after block n-1''s last key up to its own (last_xid, last_seq).'`);

    await queryRunner.query(`
      CREATE TABLE audit_requests (
        id uuid NOT NULL DEFAULT gen_random_uuid(),
        created_at timestamptz NOT NULL,
        district_id text,
        principal_sub text,
        principal_role text,
        method text NOT NULL,
        path text NOT NULL,
        status_code int NOT NULL,
        duration_ms int NOT NULL,
        aborted boolean NOT NULL DEFAULT false,
        request_id text,
        ip text,
        CONSTRAINT pk_audit_requests PRIMARY KEY (id)
      )`);
    await queryRunner.query(`COMMENT ON TABLE audit_requests IS
      'Every request to /v1/audit: who asked what, when, and the answer''s status.'`);
    await queryRunner.query(`CREATE INDEX ix_audit_requests_district
      ON audit_requests (district_id, created_at, id)`);

    for (const table of ['ledger_seal_blocks', 'audit_requests']) {
      await queryRunner.query(`CREATE TRIGGER trg_${table}_append_only BEFORE UPDATE OR DELETE ON ${table}
        FOR EACH ROW EXECUTE FUNCTION audit_reject_change()`);
      await queryRunner.query(`CREATE TRIGGER trg_${table}_no_truncate BEFORE TRUNCATE ON ${table}
        FOR EACH STATEMENT EXECUTE FUNCTION audit_reject_change()`);
    }
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE audit_requests`);
    await queryRunner.query(`DROP TABLE ledger_seal_blocks`);
    await queryRunner.query(`DROP FUNCTION audit_reject_change()`);
    await queryRunner.query(`DROP INDEX ix_lessons_disputed`);
    await queryRunner.query(`DROP INDEX ix_ledger_accounts_institution`);
    await queryRunner.query(`DROP INDEX ix_ledger_postings_recorded`);
    await queryRunner.query(`DROP INDEX ix_bank_instructions_subject`);
    await queryRunner.query(`DROP INDEX ix_refunds_order`);
    await queryRunner.query(`DROP INDEX ix_ledger_transactions_seal_key`);
    await queryRunner.query(`ALTER TABLE ledger_transactions DROP COLUMN created_xid`);
  }
}
