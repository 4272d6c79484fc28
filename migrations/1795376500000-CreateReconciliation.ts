import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Bank reconciliation (DESIGN.md §5.6, RULES.md §6.7): imported statements, their lines (unique
 * per account and bank transaction reference, so an overlapping or repeated import adds nothing),
 * the exceptions matching leaves for operators, and the daily close of each custody account.
 *
 * A line carries what it was matched to (instruction, payment, or a manual ledger transaction) and
 * `ledger_date`, the China date on which the ledger booked that movement. Where the bank and the
 * ledger booked one movement on different days, the daily close counts it as in transit, so a
 * cut-off at midnight is explained rather than reported as a difference.
 */
export class CreateReconciliation1795376500000 implements MigrationInterface {
  name = 'CreateReconciliation1795376500000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE reconciliation_statements (
        id uuid NOT NULL DEFAULT gen_random_uuid(),
        account_no text NOT NULL,
        institution_id uuid NOT NULL,
        district_id text NOT NULL,
        format text NOT NULL,
        format_version text NOT NULL,
        source text NOT NULL,
        imported_by text NOT NULL,
        message_id text,
        statement_ref text,
        sequence_no bigint,
        from_date date NOT NULL,
        to_date date NOT NULL,
        opening_fen bigint NOT NULL,
        closing_fen bigint NOT NULL,
        credit_count int NOT NULL,
        credit_fen bigint NOT NULL,
        debit_count int NOT NULL,
        debit_fen bigint NOT NULL,
        line_count int NOT NULL,
        new_line_count int NOT NULL,
        fingerprint text NOT NULL,
        file_sha256 text NOT NULL,
        file_bytes int NOT NULL,
        imported_at timestamptz NOT NULL DEFAULT now(),
        matched_at timestamptz,
        CONSTRAINT pk_reconciliation_statements PRIMARY KEY (id),
        CONSTRAINT fk_reconciliation_statements_institution FOREIGN KEY (institution_id) REFERENCES institutions (id),
        CONSTRAINT uq_reconciliation_statements_fingerprint UNIQUE (account_no, fingerprint),
        CONSTRAINT ck_reconciliation_statements_format CHECK (format IN ('camt053', 'csv')),
        CONSTRAINT ck_reconciliation_statements_source CHECK (source IN ('bank', 'operator', 'job')),
        CONSTRAINT ck_reconciliation_statements_period CHECK (from_date <= to_date),
        CONSTRAINT ck_reconciliation_statements_totals CHECK (
          credit_count >= 0 AND debit_count >= 0 AND credit_fen >= 0 AND debit_fen >= 0
          AND line_count >= 0 AND new_line_count BETWEEN 0 AND line_count
          AND opening_fen + credit_fen - debit_fen = closing_fen)
      )`);
    await queryRunner.query(`COMMENT ON COLUMN reconciliation_statements.fingerprint IS
      'SHA-256 of the statement''s content (account, period, balances, every line''s reference, direction, amount and date): the same statement delivered again, in either format, is the same row.'`);
    await queryRunner.query(`CREATE UNIQUE INDEX uq_reconciliation_statements_sequence
      ON reconciliation_statements (account_no, sequence_no) WHERE sequence_no IS NOT NULL`);
    await queryRunner.query(`CREATE INDEX ix_reconciliation_statements_district
      ON reconciliation_statements (district_id, imported_at, id)`);
    await queryRunner.query(`CREATE INDEX ix_reconciliation_statements_unmatched
      ON reconciliation_statements (imported_at) WHERE matched_at IS NULL`);

    await queryRunner.query(`
      CREATE TABLE reconciliation_lines (
        id bigint GENERATED ALWAYS AS IDENTITY,
        statement_id uuid NOT NULL,
        account_no text NOT NULL,
        institution_id uuid NOT NULL,
        line_no int NOT NULL,
        bank_ref text NOT NULL,
        direction text NOT NULL,
        amount_fen bigint NOT NULL,
        booking_date date NOT NULL,
        booked_at timestamptz,
        value_date date,
        end_to_end_id text,
        counterparty_account text,
        counterparty_name text,
        remittance_info text,
        reversal boolean NOT NULL DEFAULT false,
        status text NOT NULL DEFAULT 'unmatched',
        match_rule text,
        instruction_id uuid,
        payment_id uuid,
        ledger_transaction_id uuid,
        ledger_date date,
        paired_line_id bigint,
        matched_at timestamptz,
        CONSTRAINT pk_reconciliation_lines PRIMARY KEY (id),
        CONSTRAINT fk_reconciliation_lines_statement FOREIGN KEY (statement_id) REFERENCES reconciliation_statements (id),
        CONSTRAINT fk_reconciliation_lines_paired FOREIGN KEY (paired_line_id) REFERENCES reconciliation_lines (id),
        CONSTRAINT uq_reconciliation_lines_bank_ref UNIQUE (account_no, bank_ref),
        CONSTRAINT ck_reconciliation_lines_direction CHECK (direction IN ('credit', 'debit')),
        CONSTRAINT ck_reconciliation_lines_amount CHECK (amount_fen > 0),
        CONSTRAINT ck_reconciliation_lines_status CHECK (status IN
          ('unmatched', 'matched', 'bank_only', 'amount_mismatch', 'reversed', 'reversal')),
        CONSTRAINT ck_reconciliation_lines_match_rule CHECK (match_rule IS NULL OR match_rule IN
          ('instruction_ref', 'payment_ref', 'amount_date', 'manual', 'reversal_pair', 'reversal_reopen'))
      )`);
    // instruction_id, payment_id and ledger_transaction_id name rows that are never deleted
    // (bank_instructions, payments; ledger_transactions are append-only by trigger). They carry no
    // foreign key: checking one locks the referenced row (FOR KEY SHARE), and a day's matching
    // would lock every payment and ledger transaction of the day.
    await queryRunner.query(`COMMENT ON COLUMN reconciliation_lines.ledger_transaction_id IS
      'The ledger transaction that booked this movement on custody_cash (no FK: see the migration).'`);
    await queryRunner.query(`COMMENT ON COLUMN reconciliation_lines.status IS
      'unmatched (not yet through matching) -> matched | bank_only | amount_mismatch; a matched line whose movement the bank reversed is reversed, and the reversing line is reversal'`);
    // Each ledger movement is claimed by at most one bank line.
    await queryRunner.query(`CREATE UNIQUE INDEX uq_reconciliation_lines_instruction
      ON reconciliation_lines (instruction_id) WHERE instruction_id IS NOT NULL`);
    await queryRunner.query(`CREATE UNIQUE INDEX uq_reconciliation_lines_payment
      ON reconciliation_lines (payment_id) WHERE payment_id IS NOT NULL`);
    // Lines by our reference (an instruction id as EndToEndId, in whatever case the bank wrote it).
    await queryRunner.query(`CREATE INDEX ix_reconciliation_lines_end_to_end
      ON reconciliation_lines (account_no, lower(end_to_end_id))`);
    await queryRunner.query(`CREATE INDEX ix_reconciliation_lines_account_date
      ON reconciliation_lines (account_no, booking_date)`);
    await queryRunner.query(`CREATE INDEX ix_reconciliation_lines_open
      ON reconciliation_lines (account_no) WHERE status IN ('unmatched', 'bank_only', 'amount_mismatch')`);
    await queryRunner.query(`CREATE INDEX ix_reconciliation_lines_in_transit
      ON reconciliation_lines (account_no) WHERE ledger_date <> booking_date`);

    await queryRunner.query(`
      CREATE TABLE reconciliation_exceptions (
        id uuid NOT NULL DEFAULT gen_random_uuid(),
        kind text NOT NULL,
        status text NOT NULL DEFAULT 'open',
        subject text NOT NULL,
        account_no text NOT NULL,
        institution_id uuid NOT NULL,
        district_id text NOT NULL,
        business_date date NOT NULL,
        direction text NOT NULL,
        amount_fen bigint NOT NULL,
        ledger_amount_fen bigint,
        line_id bigint,
        instruction_id uuid,
        payment_id uuid,
        ledger_transaction_id uuid,
        details jsonb NOT NULL DEFAULT '{}'::jsonb,
        proposed_by text,
        proposed_at timestamptz,
        proposal_reason text,
        resolved_by text,
        resolved_at timestamptz,
        resolution text,
        resolution_note text,
        resolution_transaction_id uuid,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT pk_reconciliation_exceptions PRIMARY KEY (id),
        CONSTRAINT fk_reconciliation_exceptions_institution FOREIGN KEY (institution_id) REFERENCES institutions (id),
        CONSTRAINT fk_reconciliation_exceptions_line FOREIGN KEY (line_id) REFERENCES reconciliation_lines (id),
        CONSTRAINT fk_reconciliation_exceptions_resolution FOREIGN KEY (resolution_transaction_id) REFERENCES ledger_transactions (id),
        CONSTRAINT ck_reconciliation_exceptions_kind CHECK (kind IN
          ('bank_only', 'ledger_only', 'amount_mismatch', 'reversal')),
        CONSTRAINT ck_reconciliation_exceptions_status CHECK (status IN ('open', 'resolved')),
        CONSTRAINT ck_reconciliation_exceptions_direction CHECK (direction IN ('credit', 'debit')),
        CONSTRAINT ck_reconciliation_exceptions_amount CHECK (amount_fen > 0),
        CONSTRAINT ck_reconciliation_exceptions_resolved CHECK (
          (status = 'open') = (resolved_at IS NULL)),
        CONSTRAINT ck_reconciliation_exceptions_approvers CHECK (
          resolution IS DISTINCT FROM 'booked_to_suspense'
          OR (proposed_by IS NOT NULL AND resolved_by IS NOT NULL AND proposed_by <> resolved_by))
      )`);
    await queryRunner.query(`COMMENT ON TABLE reconciliation_exceptions IS
      'What matching could not explain: bank_only (a bank line the ledger never heard of), ledger_only (a ledger movement the bank never executed), amount_mismatch, reversal (the bank took back money the ledger still holds). Booking bank-only money to suspense takes two distinct operators.'`);
    // One open exception per subject (line:<id>, instruction:<id>, payment:<id>): raising is idempotent.
    await queryRunner.query(`CREATE UNIQUE INDEX uq_reconciliation_exceptions_open_subject
      ON reconciliation_exceptions (kind, subject) WHERE status = 'open'`);
    await queryRunner.query(`CREATE INDEX ix_reconciliation_exceptions_district
      ON reconciliation_exceptions (district_id, created_at, id)`);
    await queryRunner.query(`CREATE INDEX ix_reconciliation_exceptions_account_open
      ON reconciliation_exceptions (account_no, business_date) WHERE status = 'open'`);

    await queryRunner.query(`
      CREATE TABLE reconciliation_days (
        account_no text NOT NULL,
        day date NOT NULL,
        institution_id uuid NOT NULL,
        district_id text NOT NULL,
        statement_id uuid NOT NULL,
        bank_closing_fen bigint NOT NULL,
        ledger_balance_fen bigint,
        in_transit_fen bigint,
        difference_fen bigint,
        open_exceptions int NOT NULL DEFAULT 0,
        unmatched_lines int NOT NULL DEFAULT 0,
        status text NOT NULL DEFAULT 'open',
        evaluated_at timestamptz,
        closed_at timestamptz,
        CONSTRAINT pk_reconciliation_days PRIMARY KEY (account_no, day),
        CONSTRAINT fk_reconciliation_days_institution FOREIGN KEY (institution_id) REFERENCES institutions (id),
        CONSTRAINT fk_reconciliation_days_statement FOREIGN KEY (statement_id) REFERENCES reconciliation_statements (id),
        CONSTRAINT ck_reconciliation_days_status CHECK (status IN ('open', 'closed')),
        CONSTRAINT ck_reconciliation_days_closed CHECK (status = 'open' OR (
          difference_fen = 0 AND open_exceptions = 0 AND unmatched_lines = 0 AND closed_at IS NOT NULL))
      )`);
    await queryRunner.query(`COMMENT ON TABLE reconciliation_days IS
      'Daily close per custody account and China date: the bank''s closing balance against custody_cash at the end of the day (plus movements in transit across midnight); closed only at zero difference with no open exception.'`);
    await queryRunner.query(`CREATE INDEX ix_reconciliation_days_district
      ON reconciliation_days (district_id, day)`);
    await queryRunner.query(`CREATE INDEX ix_reconciliation_days_open
      ON reconciliation_days (account_no) WHERE status = 'open'`);

    // Matching looks up one account's ledger movements by date.
    await queryRunner.query(`CREATE INDEX ix_payments_account_occurred
      ON payments (account_no, occurred_at)`);
    await queryRunner.query(`CREATE INDEX ix_bank_instructions_from_account_completed
      ON bank_instructions (from_account_no, completed_at) WHERE status = 'succeeded'`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX ix_bank_instructions_from_account_completed`);
    await queryRunner.query(`DROP INDEX ix_payments_account_occurred`);
    await queryRunner.query(`DROP TABLE reconciliation_days`);
    await queryRunner.query(`DROP TABLE reconciliation_exceptions`);
    await queryRunner.query(`DROP TABLE reconciliation_lines`);
    await queryRunner.query(`DROP TABLE reconciliation_statements`);
  }
}
