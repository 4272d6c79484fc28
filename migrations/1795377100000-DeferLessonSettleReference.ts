import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A lesson's reference to its release transaction is checked at commit, so that a confirmation
 * can record the (client-chosen) transaction id before writing the ledger, and write the ledger
 * last: the institution's accounts it locks then stay locked only until the commit follows.
 */
export class DeferLessonSettleReference1795377100000 implements MigrationInterface {
  name = 'DeferLessonSettleReference1795377100000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      'ALTER TABLE lessons ALTER CONSTRAINT fk_lessons_settle DEFERRABLE INITIALLY DEFERRED',
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      'ALTER TABLE lessons ALTER CONSTRAINT fk_lessons_settle NOT DEFERRABLE INITIALLY IMMEDIATE',
    );
  }
}
