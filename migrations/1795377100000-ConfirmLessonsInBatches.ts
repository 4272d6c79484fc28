import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * For confirmations in batches. A lesson's reference to its release transaction is checked at
 * commit, so that a confirmation can record the (client-chosen) transaction id before writing the
 * ledger, and write the ledger last: the institution's accounts it locks then stay locked only
 * until the commit follows. And ix_lessons_order goes: uq_lessons_order_sequence is the same
 * index, and every confirmation (which changes the status, so is never a HOT update) paid for both.
 */
export class ConfirmLessonsInBatches1795377100000 implements MigrationInterface {
  name = 'ConfirmLessonsInBatches1795377100000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      'ALTER TABLE lessons ALTER CONSTRAINT fk_lessons_settle DEFERRABLE INITIALLY DEFERRED',
    );
    await queryRunner.query('DROP INDEX ix_lessons_order');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('CREATE INDEX ix_lessons_order ON lessons (order_id, sequence)');
    await queryRunner.query(
      'ALTER TABLE lessons ALTER CONSTRAINT fk_lessons_settle NOT DEFERRABLE INITIALLY IMMEDIATE',
    );
  }
}
