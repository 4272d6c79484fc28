import { MigrationInterface, QueryRunner } from 'typeorm';
import {
  POSTING_ID_FROM_SEQUENCE,
  ledgerApplyStampedPostingsFunction,
  ledgerStampPostingFunction,
} from './shared/ledger-functions';

/**
 * ApplyPostingsPerStatement changed after databases had applied it: its statement trigger now
 * fails a statement that leaves an account behind its postings (EL003), and the row trigger's
 * limit errors name their table. A database that applied the first form keeps the first form's
 * functions; this brings them to the present ones. On a database that applied the present form it
 * writes the same functions again.
 */
export class AccountsNeverBehindTheirPostings1795377300000 implements MigrationInterface {
  name = 'AccountsNeverBehindTheirPostings1795377300000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(ledgerApplyStampedPostingsFunction());
    await queryRunner.query(ledgerStampPostingFunction(POSTING_ID_FROM_SEQUENCE));
  }

  /**
   * Nothing to undo: the functions are those ApplyPostingsPerStatement creates now, and reverting
   * that migration replaces them.
   */
  async down(): Promise<void> {}
}
