import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Institutions with their bank accounts, district policy and calendar, courses, orders, bank
 * events and payments, lessons, and the exceptions that operators work through.
 */
export class CreatePurchasesAndLessons1795375300000 implements MigrationInterface {
  name = 'CreatePurchasesAndLessons1795375300000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE district_policies (
        district_id text NOT NULL,
        version int NOT NULL DEFAULT 1,
        max_lessons int NOT NULL,
        max_span_months int NOT NULL,
        max_amount_fen bigint NOT NULL,
        renewal_threshold int NOT NULL,
        price_cap_bands jsonb NOT NULL,
        price_cap_markup_percent int NOT NULL,
        standard_lesson_minutes int NOT NULL,
        auto_confirm_working_days int,
        refund_silence_working_days int NOT NULL,
        updated_by text NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT pk_district_policies PRIMARY KEY (district_id),
        CONSTRAINT ck_district_policies_limits CHECK (
          max_lessons > 0 AND max_span_months > 0 AND max_amount_fen > 0 AND renewal_threshold >= 0
          AND price_cap_markup_percent >= 0 AND standard_lesson_minutes > 0
          AND (auto_confirm_working_days IS NULL OR auto_confirm_working_days > 0)
          AND refund_silence_working_days > 0)
      )`);
    await queryRunner.query(`
      CREATE TABLE district_policy_changes (
        id bigint GENERATED ALWAYS AS IDENTITY,
        district_id text NOT NULL,
        version int NOT NULL,
        policy jsonb NOT NULL,
        changed_by text NOT NULL,
        changed_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT pk_district_policy_changes PRIMARY KEY (id),
        CONSTRAINT uq_district_policy_changes_version UNIQUE (district_id, version)
      )`);
    await queryRunner.query(`
      CREATE TABLE calendar_days (
        district_id text NOT NULL,
        day date NOT NULL,
        kind text NOT NULL,
        note text,
        updated_by text NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT pk_calendar_days PRIMARY KEY (district_id, day),
        CONSTRAINT ck_calendar_days_kind CHECK (kind IN ('holiday', 'workday'))
      )`);
    await queryRunner.query(`COMMENT ON TABLE calendar_days IS
      'Exceptions to Monday-Friday working weeks: holidays, and make-up working days on weekends.'`);

    await queryRunner.query(`
      CREATE TABLE institutions (
        id uuid NOT NULL DEFAULT gen_random_uuid(),
        name text NOT NULL,
        license_no text NOT NULL,
        district_id text NOT NULL,
        status text NOT NULL DEFAULT 'active',
        status_reason text,
        created_by text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT pk_institutions PRIMARY KEY (id),
        CONSTRAINT uq_institutions_license_no UNIQUE (license_no),
        CONSTRAINT ck_institutions_status CHECK (status IN ('active', 'suspended', 'closed'))
      )`);
    await queryRunner.query(`CREATE INDEX ix_institutions_district ON institutions (district_id)`);
    await queryRunner.query(`
      CREATE TABLE institution_bank_accounts (
        id uuid NOT NULL DEFAULT gen_random_uuid(),
        institution_id uuid NOT NULL,
        kind text NOT NULL,
        bank_code text NOT NULL,
        account_no text NOT NULL,
        account_name text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT pk_institution_bank_accounts PRIMARY KEY (id),
        CONSTRAINT fk_institution_bank_accounts_institution FOREIGN KEY (institution_id) REFERENCES institutions (id),
        CONSTRAINT ck_institution_bank_accounts_kind CHECK (kind IN ('custody', 'settlement')),
        CONSTRAINT uq_institution_bank_accounts_kind UNIQUE (institution_id, kind),
        CONSTRAINT uq_institution_bank_accounts_account_no UNIQUE (account_no)
      )`);

    await queryRunner.query(`
      CREATE TABLE courses (
        id uuid NOT NULL DEFAULT gen_random_uuid(),
        institution_id uuid NOT NULL,
        title text NOT NULL,
        category text NOT NULL,
        lesson_count int NOT NULL,
        lesson_minutes int NOT NULL,
        class_size int NOT NULL,
        price_fen bigint NOT NULL,
        starts_on date NOT NULL,
        ends_on date NOT NULL,
        created_by text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT pk_courses PRIMARY KEY (id),
        CONSTRAINT fk_courses_institution FOREIGN KEY (institution_id) REFERENCES institutions (id),
        CONSTRAINT ck_courses_category CHECK (category IN ('subject', 'non_subject')),
        CONSTRAINT ck_courses_numbers CHECK (
          lesson_count > 0 AND lesson_minutes > 0 AND class_size > 0 AND price_fen > 0),
        CONSTRAINT ck_courses_dates CHECK (ends_on >= starts_on)
      )`);
    await queryRunner.query(
      `CREATE INDEX ix_courses_institution ON courses (institution_id, created_at)`,
    );

    await queryRunner.query(`
      CREATE TABLE orders (
        id uuid NOT NULL DEFAULT gen_random_uuid(),
        institution_id uuid NOT NULL,
        district_id text NOT NULL,
        course_id uuid NOT NULL,
        parent_id text NOT NULL,
        student_name text NOT NULL,
        lessons_paid int NOT NULL,
        bonus_lessons int NOT NULL DEFAULT 0,
        lesson_price_fen bigint NOT NULL,
        amount_fen bigint NOT NULL,
        payment_reference text NOT NULL,
        contract_version text NOT NULL,
        status text NOT NULL DEFAULT 'pending_payment',
        escrow_account_id uuid NOT NULL,
        payer_bank_code text,
        payer_account_no text,
        payer_account_name text,
        paid_at timestamptz,
        first_lesson_on date NOT NULL,
        last_lesson_on date NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT pk_orders PRIMARY KEY (id),
        CONSTRAINT fk_orders_institution FOREIGN KEY (institution_id) REFERENCES institutions (id),
        CONSTRAINT fk_orders_course FOREIGN KEY (course_id) REFERENCES courses (id),
        CONSTRAINT fk_orders_escrow_account FOREIGN KEY (escrow_account_id) REFERENCES ledger_accounts (id),
        CONSTRAINT uq_orders_payment_reference UNIQUE (payment_reference),
        CONSTRAINT ck_orders_status CHECK (status IN
          ('pending_payment', 'active', 'completed', 'refunding', 'refunded', 'cancelled')),
        CONSTRAINT ck_orders_numbers CHECK (
          lessons_paid > 0 AND bonus_lessons >= 0 AND lesson_price_fen > 0
          AND amount_fen = lessons_paid * lesson_price_fen),
        CONSTRAINT ck_orders_paid CHECK (status = 'pending_payment' OR paid_at IS NOT NULL)
      )`);
    await queryRunner.query(`CREATE INDEX ix_orders_parent ON orders (parent_id, created_at, id)`);
    await queryRunner.query(
      `CREATE INDEX ix_orders_institution ON orders (institution_id, created_at, id)`,
    );
    await queryRunner.query(
      `CREATE INDEX ix_orders_course_parent ON orders (course_id, parent_id)`,
    );

    await queryRunner.query(`
      CREATE TABLE bank_events (
        event_id text NOT NULL,
        type text NOT NULL,
        body_sha256 text NOT NULL,
        received_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT pk_bank_events PRIMARY KEY (event_id)
      )`);
    await queryRunner.query(`COMMENT ON TABLE bank_events IS
      'Every accepted bank notification, by event id. Replays are answered through idempotency_keys (scope bank).'`);
    await queryRunner.query(`
      CREATE TABLE payments (
        id uuid NOT NULL DEFAULT gen_random_uuid(),
        event_id text NOT NULL,
        bank_txn_id text NOT NULL,
        institution_id uuid,
        order_id uuid,
        account_no text NOT NULL,
        amount_fen bigint NOT NULL,
        reference text NOT NULL,
        payer_bank_code text,
        payer_account_no text,
        payer_account_name text,
        outcome text NOT NULL,
        ledger_transaction_id uuid,
        occurred_at timestamptz NOT NULL,
        received_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT pk_payments PRIMARY KEY (id),
        CONSTRAINT uq_payments_bank_txn_id UNIQUE (bank_txn_id),
        CONSTRAINT fk_payments_event FOREIGN KEY (event_id) REFERENCES bank_events (event_id),
        CONSTRAINT fk_payments_institution FOREIGN KEY (institution_id) REFERENCES institutions (id),
        CONSTRAINT fk_payments_order FOREIGN KEY (order_id) REFERENCES orders (id),
        CONSTRAINT fk_payments_ledger_transaction FOREIGN KEY (ledger_transaction_id) REFERENCES ledger_transactions (id),
        CONSTRAINT ck_payments_amount CHECK (amount_fen > 0),
        CONSTRAINT ck_payments_outcome CHECK (outcome IN
          ('matched', 'unknown_reference', 'amount_mismatch', 'wrong_account', 'order_not_payable', 'unknown_account'))
      )`);
    await queryRunner.query(`CREATE INDEX ix_payments_order ON payments (order_id)`);

    await queryRunner.query(`
      CREATE TABLE operator_exceptions (
        id uuid NOT NULL DEFAULT gen_random_uuid(),
        kind text NOT NULL,
        status text NOT NULL DEFAULT 'open',
        district_id text,
        institution_id uuid,
        subject_id text NOT NULL,
        amount_fen bigint,
        details jsonb NOT NULL DEFAULT '{}'::jsonb,
        created_at timestamptz NOT NULL DEFAULT now(),
        resolved_at timestamptz,
        resolved_by text,
        resolution_note text,
        CONSTRAINT pk_operator_exceptions PRIMARY KEY (id),
        CONSTRAINT fk_operator_exceptions_institution FOREIGN KEY (institution_id) REFERENCES institutions (id),
        CONSTRAINT ck_operator_exceptions_status CHECK (status IN ('open', 'resolved')),
        CONSTRAINT uq_operator_exceptions_subject UNIQUE (kind, subject_id)
      )`);
    await queryRunner.query(`CREATE INDEX ix_operator_exceptions_open
      ON operator_exceptions (district_id, created_at) WHERE status = 'open'`);

    await queryRunner.query(`
      CREATE TABLE lessons (
        id uuid NOT NULL DEFAULT gen_random_uuid(),
        order_id uuid NOT NULL,
        institution_id uuid NOT NULL,
        sequence int NOT NULL,
        delivered_at timestamptz NOT NULL,
        note text,
        fee_fen bigint NOT NULL,
        status text NOT NULL DEFAULT 'awaiting_confirmation',
        hold_transaction_id uuid,
        settle_transaction_id uuid,
        confirmed_at timestamptz,
        confirmed_by text,
        confirmation_rule text,
        rating smallint,
        comment text,
        dispute_reason text,
        disputed_at timestamptz,
        resolved_outcome text,
        resolved_by text,
        resolution_note text,
        resolved_at timestamptz,
        recorded_by text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT pk_lessons PRIMARY KEY (id),
        CONSTRAINT fk_lessons_order FOREIGN KEY (order_id) REFERENCES orders (id),
        CONSTRAINT fk_lessons_institution FOREIGN KEY (institution_id) REFERENCES institutions (id),
        CONSTRAINT fk_lessons_hold FOREIGN KEY (hold_transaction_id) REFERENCES ledger_transactions (id),
        CONSTRAINT fk_lessons_settle FOREIGN KEY (settle_transaction_id) REFERENCES ledger_transactions (id),
        CONSTRAINT uq_lessons_order_sequence UNIQUE (order_id, sequence),
        CONSTRAINT uq_lessons_order_delivered_at UNIQUE (order_id, delivered_at),
        CONSTRAINT ck_lessons_status CHECK (status IN
          ('awaiting_confirmation', 'confirmed', 'auto_confirmed', 'disputed', 'released', 'refunded')),
        CONSTRAINT ck_lessons_fee CHECK (fee_fen >= 0 AND (fee_fen = 0) = (hold_transaction_id IS NULL)),
        CONSTRAINT ck_lessons_rating CHECK (rating IS NULL OR rating BETWEEN 1 AND 5),
        CONSTRAINT ck_lessons_resolved_outcome CHECK (resolved_outcome IS NULL OR resolved_outcome IN ('release', 'refund'))
      )`);
    await queryRunner.query(`CREATE INDEX ix_lessons_order ON lessons (order_id, sequence)`);
    await queryRunner.query(`CREATE INDEX ix_lessons_awaiting
      ON lessons (institution_id, delivered_at) WHERE status = 'awaiting_confirmation'`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const table of [
      'lessons',
      'operator_exceptions',
      'payments',
      'bank_events',
      'orders',
      'courses',
      'institution_bank_accounts',
      'institutions',
      'calendar_days',
      'district_policy_changes',
      'district_policies',
    ]) {
      await queryRunner.query(`DROP TABLE ${table}`);
    }
  }
}
