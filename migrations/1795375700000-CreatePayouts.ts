import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Money leaving custody: bank instructions (the transactional outbox), settlement batches and
 * refunds. An instruction is written in the same transaction as the posting that needs it, and
 * its id is the bank's end-to-end reference, so no retry can pay twice.
 */
export class CreatePayouts1795375700000 implements MigrationInterface {
  name = 'CreatePayouts1795375700000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE bank_instructions (
        id uuid NOT NULL DEFAULT gen_random_uuid(),
        purpose text NOT NULL,
        subject_id uuid NOT NULL,
        institution_id uuid NOT NULL,
        from_account_no text NOT NULL,
        to_bank_code text NOT NULL,
        to_account_no text NOT NULL,
        to_account_name text NOT NULL,
        amount_fen bigint NOT NULL,
        status text NOT NULL DEFAULT 'pending',
        attempts int NOT NULL DEFAULT 0,
        last_error text,
        bank_txn_id text,
        failure_reason text,
        completion_transaction_id uuid,
        retry_of uuid,
        created_by text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        submitted_at timestamptz,
        completed_at timestamptz,
        CONSTRAINT pk_bank_instructions PRIMARY KEY (id),
        CONSTRAINT fk_bank_instructions_institution FOREIGN KEY (institution_id) REFERENCES institutions (id),
        CONSTRAINT fk_bank_instructions_completion FOREIGN KEY (completion_transaction_id) REFERENCES ledger_transactions (id),
        CONSTRAINT fk_bank_instructions_retry_of FOREIGN KEY (retry_of) REFERENCES bank_instructions (id),
        CONSTRAINT ck_bank_instructions_purpose CHECK (purpose IN ('settlement', 'refund')),
        CONSTRAINT ck_bank_instructions_status CHECK (status IN ('pending', 'submitted', 'succeeded', 'failed')),
        CONSTRAINT ck_bank_instructions_amount CHECK (amount_fen > 0)
      )`);
    // At most one live instruction per batch or refund; a failed one may be retried by a new one.
    await queryRunner.query(`CREATE UNIQUE INDEX uq_bank_instructions_live_subject
      ON bank_instructions (purpose, subject_id) WHERE status <> 'failed'`);
    await queryRunner.query(`CREATE UNIQUE INDEX uq_bank_instructions_retry_of
      ON bank_instructions (retry_of) WHERE retry_of IS NOT NULL`);
    await queryRunner.query(`CREATE INDEX ix_bank_instructions_unfinished
      ON bank_instructions (updated_at) WHERE status IN ('pending', 'submitted')`);

    await queryRunner.query(`
      CREATE TABLE settlement_batches (
        id uuid NOT NULL DEFAULT gen_random_uuid(),
        institution_id uuid NOT NULL,
        district_id text NOT NULL,
        amount_fen bigint NOT NULL,
        lesson_count int NOT NULL,
        status text NOT NULL DEFAULT 'paying',
        instruction_id uuid,
        created_by text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        paid_at timestamptz,
        CONSTRAINT pk_settlement_batches PRIMARY KEY (id),
        CONSTRAINT fk_settlement_batches_institution FOREIGN KEY (institution_id) REFERENCES institutions (id),
        CONSTRAINT fk_settlement_batches_instruction FOREIGN KEY (instruction_id) REFERENCES bank_instructions (id),
        CONSTRAINT ck_settlement_batches_status CHECK (status IN ('paying', 'paid', 'failed')),
        CONSTRAINT ck_settlement_batches_amount CHECK (amount_fen > 0 AND lesson_count > 0)
      )`);
    await queryRunner.query(`CREATE INDEX ix_settlement_batches_institution
      ON settlement_batches (institution_id, created_at, id)`);
    await queryRunner.query(`CREATE INDEX ix_settlement_batches_district
      ON settlement_batches (district_id, created_at, id)`);
    await queryRunner.query(`ALTER TABLE lessons ADD COLUMN settlement_batch_id uuid
      CONSTRAINT fk_lessons_settlement_batch REFERENCES settlement_batches (id)`);
    await queryRunner.query(`CREATE INDEX ix_lessons_unsettled ON lessons (institution_id)
      WHERE settlement_batch_id IS NULL AND status IN ('confirmed', 'auto_confirmed', 'released') AND fee_fen > 0`);

    await queryRunner.query(`
      CREATE TABLE refunds (
        id uuid NOT NULL DEFAULT gen_random_uuid(),
        order_id uuid NOT NULL,
        institution_id uuid NOT NULL,
        district_id text NOT NULL,
        parent_id text NOT NULL,
        reason text NOT NULL,
        note text,
        amount_fen bigint NOT NULL,
        status text NOT NULL DEFAULT 'requested',
        requested_by text NOT NULL,
        requested_at timestamptz NOT NULL DEFAULT now(),
        respond_by date,
        due_on date,
        hold_transaction_id uuid,
        approval_transaction_id uuid,
        decided_by text,
        decided_at timestamptz,
        approved_via text,
        rejection_reason text,
        operator_note text,
        instruction_id uuid,
        paid_at timestamptz,
        CONSTRAINT pk_refunds PRIMARY KEY (id),
        CONSTRAINT fk_refunds_order FOREIGN KEY (order_id) REFERENCES orders (id),
        CONSTRAINT fk_refunds_institution FOREIGN KEY (institution_id) REFERENCES institutions (id),
        CONSTRAINT fk_refunds_hold FOREIGN KEY (hold_transaction_id) REFERENCES ledger_transactions (id),
        CONSTRAINT fk_refunds_approval FOREIGN KEY (approval_transaction_id) REFERENCES ledger_transactions (id),
        CONSTRAINT fk_refunds_instruction FOREIGN KEY (instruction_id) REFERENCES bank_instructions (id),
        CONSTRAINT ck_refunds_reason CHECK (reason IN ('before_start', 'mid_course', 'cooling_off',
          'institution_default', 'closure', 'over_cap', 'dispute')),
        CONSTRAINT ck_refunds_status CHECK (status IN
          ('requested', 'rejected', 'approved', 'paying', 'paid', 'failed', 'declined')),
        CONSTRAINT ck_refunds_amount CHECK (amount_fen > 0),
        CONSTRAINT ck_refunds_approved_via CHECK (approved_via IS NULL OR approved_via IN
          ('institution', 'silence', 'operator', 'automatic'))
      )`);
    await queryRunner.query(`COMMENT ON COLUMN refunds.status IS
      'requested -> approved -> paying -> paid | failed; rejected (by the institution, awaiting an operator) -> approved | declined'`);
    // One refund at a time per order while it is still being decided.
    await queryRunner.query(`CREATE UNIQUE INDEX uq_refunds_open_order
      ON refunds (order_id) WHERE status IN ('requested', 'rejected')`);
    await queryRunner.query(`CREATE INDEX ix_refunds_awaiting
      ON refunds (respond_by) WHERE status = 'requested'`);
    await queryRunner.query(
      `CREATE INDEX ix_refunds_institution ON refunds (institution_id, requested_at)`,
    );

    await queryRunner.query(`
      CREATE TABLE institution_closures (
        institution_id uuid NOT NULL,
        closed_by text NOT NULL,
        reason text NOT NULL,
        closed_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT pk_institution_closures PRIMARY KEY (institution_id),
        CONSTRAINT fk_institution_closures_institution FOREIGN KEY (institution_id) REFERENCES institutions (id)
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE institution_closures`);
    await queryRunner.query(`DROP TABLE refunds`);
    await queryRunner.query(`DROP INDEX ix_lessons_unsettled`);
    await queryRunner.query(`ALTER TABLE lessons DROP COLUMN settlement_batch_id`);
    await queryRunner.query(`DROP TABLE settlement_batches`);
    await queryRunner.query(`DROP TABLE bank_instructions`);
  }
}
