import { MigrationInterface, QueryRunner } from 'typeorm';
import {
  FIND_CHECKED_TRANSACTION,
  FIND_UNCHECKED_TRANSACTION,
  POSTING_ID_FROM_SEQUENCE,
  ledgerApplyPostingFunction,
  ledgerCheckTransactionFunction,
} from './shared/ledger-functions';

/**
 * Checks a ledger transaction once per database transaction instead of once per posting (a lesson
 * release has four postings, so its commit ran five identical checks). Every insert still queues
 * its event; an event leaves the check to a later one of the same database transaction:
 *
 * - a posting's event, when this database transaction inserted a later posting of the same ledger
 *   transaction (that posting's event runs after it and sees at least as much);
 * - a ledger transaction's event, when this database transaction inserted postings of it (the
 *   last of them checks it).
 *
 * The last posting a database transaction adds to a ledger transaction is therefore always checked
 * against everything committed and inserted so far, in deferred and in immediate mode (SET
 * CONSTRAINTS ... IMMEDIATE then another posting: the new one is the last, and is checked). Rows
 * inserted in a subtransaction carry its own xid, not the top-level one, so there the check runs
 * for every event as before. A posting added to an old ledger transaction is always checked.
 *
 * "Later" is read from the posting id, so the id must grow with every insert: ledger_apply_posting
 * (the BEFORE INSERT trigger) now gives each posting its id from the sequence, whatever the INSERT
 * said (OVERRIDING SYSTEM VALUE would otherwise let a client choose an id, and so pass a posting
 * off as checked).
 */
export class CheckLedgerTransactionOnce1795377000000 implements MigrationInterface {
  name = 'CheckLedgerTransactionOnce1795377000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(ledgerApplyPostingFunction(POSTING_ID_FROM_SEQUENCE));
    await queryRunner.query(ledgerCheckTransactionFunction(FIND_UNCHECKED_TRANSACTION));
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(ledgerCheckTransactionFunction(FIND_CHECKED_TRANSACTION));
    await queryRunner.query(ledgerApplyPostingFunction(''));
  }
}
