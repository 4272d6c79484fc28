import { MigrationInterface, QueryRunner } from 'typeorm';
import {
  POSTING_ID_FROM_SEQUENCE,
  ledgerApplyPostingFunction,
  ledgerApplyStampedPostingsFunction,
  ledgerStampPostingFunction,
} from './shared/ledger-functions';

/**
 * Applies postings to their accounts once per statement instead of once per posting. A lesson
 * release has four postings on two accounts, so each confirmation rewrote its institution's
 * settlement_payable row twice, and each rewrite re-read the account table's six CHECK
 * constraints and fired its guard trigger; a batch of confirmations rewrote the row twice per
 * lesson.
 *
 * The BEFORE INSERT row trigger still stamps every posting, in insertion order, with its account's
 * next version and running totals, under the account's row lock (FOR NO KEY UPDATE, the lock the
 * UPDATE took). It reads them from the account row or, when the same statement already inserted
 * postings of the account, from the last of those (a row trigger's queries see the rows its
 * statement inserted before): those are the only postings newer than their account row. It refuses
 * a posting whose stamped totals break the account's limits, under the names of the constraints
 * that state them (ck_ledger_accounts_totals, ck_ledger_accounts_non_negative), so every stamped
 * state stays within them, not only the statement's last.
 *
 * The AFTER INSERT statement trigger then writes each account's last stamp (its highest version)
 * to the account row, once; an account row never goes back to an older version, even when one
 * query inserts postings twice. Should anything keep that write from happening (a trigger or a
 * policy added later), the statement fails: an account never stays behind its postings (this
 * check came after the migration had first been applied; AccountsNeverBehindTheirPostings brings
 * such databases to it). The account row keeps all its CHECK constraints and its guard. Inside
 * the statement the account row lags its postings; nothing reads it in between (the statement's
 * own queries see the snapshot from before it began, as before).
 */
export class ApplyPostingsPerStatement1795377200000 implements MigrationInterface {
  name = 'ApplyPostingsPerStatement1795377200000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(ledgerApplyStampedPostingsFunction());
    await queryRunner.query(ledgerStampPostingFunction(POSTING_ID_FROM_SEQUENCE));
    await queryRunner.query(`CREATE TRIGGER trg_ledger_postings_apply_to_accounts
      AFTER INSERT ON ledger_postings REFERENCING NEW TABLE AS inserted_postings
      FOR EACH STATEMENT EXECUTE FUNCTION ledger_apply_postings()`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      'DROP TRIGGER trg_ledger_postings_apply_to_accounts ON ledger_postings',
    );
    await queryRunner.query(ledgerApplyPostingFunction(POSTING_ID_FROM_SEQUENCE));
    await queryRunner.query('DROP FUNCTION ledger_apply_postings()');
  }
}
