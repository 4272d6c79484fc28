import { MigrationInterface, QueryRunner } from 'typeorm';
import {
  FIND_UNCHECKED_TRANSACTION,
  ledgerCheckTransactionFunction,
  ledgerCheckTransactionsFunction,
} from './shared/ledger-functions';

/**
 * Checks the ledger transactions a statement gives postings at the end of that statement, all
 * together, instead of with one deferred event per posting at commit. A batch of confirmations
 * queued four posting events per lesson (three of them only to find a later posting of the same
 * transaction, the fourth to check it, one query per rule), and ran them at commit while the
 * institutions' accounts stayed locked.
 *
 * Every statement that inserts postings is now followed by ledger_check_transactions() over the
 * transactions it touched, reading all their postings, committed or not. So each ledger
 * transaction balances at the end of every statement that gives it postings, not only at commit:
 * its postings go in with one statement (as the service has always written them), and a posting
 * added later to any transaction, in another statement or after SET CONSTRAINTS, is checked with
 * all the others. Postings and transactions are append-only, so what a statement's check found
 * stays true, but for a mirror: postings added later to a hold or to a reversed transaction would
 * break its post, void or reversal, so the statement that adds them checks those too, and locks
 * the transaction it adds to against a mirror written meanwhile by another session (the deferred
 * checks caught this only within the database transaction that wrote the mirror).
 *
 * A ledger transaction's own event (deferred to the commit, as before) catches a transaction
 * given no postings at all: it checks the transaction unless this database transaction gave it
 * postings at its top level (their statement checked it). Postings inserted in a subtransaction
 * carry its xid, so then the check runs again, as before.
 */
export class CheckLedgerTransactionsPerStatement1795377400000 implements MigrationInterface {
  name = 'CheckLedgerTransactionsPerStatement1795377400000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(ledgerCheckTransactionsFunction());
    await queryRunner.query(`
      CREATE FUNCTION ledger_check_inserted_transactions() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM ledger_check_transactions(ARRAY(SELECT DISTINCT transaction_id FROM inserted_postings));
        RETURN NULL;
      END $$`);
    await queryRunner.query(`
      CREATE OR REPLACE FUNCTION ledger_check_transaction() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NOT EXISTS (SELECT 1 FROM ledger_postings
                       WHERE transaction_id = NEW.id AND xmin = pg_current_xact_id()::xid) THEN
          PERFORM ledger_check_transactions(ARRAY[NEW.id]);
        END IF;
        RETURN NULL;
      END $$`);
    await queryRunner.query('DROP TRIGGER trg_ledger_postings_balanced ON ledger_postings');
    await queryRunner.query(`CREATE TRIGGER trg_ledger_postings_check_transactions
      AFTER INSERT ON ledger_postings REFERENCING NEW TABLE AS inserted_postings
      FOR EACH STATEMENT EXECUTE FUNCTION ledger_check_inserted_transactions()`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      'DROP TRIGGER trg_ledger_postings_check_transactions ON ledger_postings',
    );
    await queryRunner.query(ledgerCheckTransactionFunction(FIND_UNCHECKED_TRANSACTION));
    await queryRunner.query(`CREATE CONSTRAINT TRIGGER trg_ledger_postings_balanced
      AFTER INSERT ON ledger_postings DEFERRABLE INITIALLY DEFERRED
      FOR EACH ROW EXECUTE FUNCTION ledger_check_transaction()`);
    await queryRunner.query('DROP FUNCTION ledger_check_inserted_transactions()');
    await queryRunner.query('DROP FUNCTION ledger_check_transactions(uuid[])');
  }
}
