import { MigrationInterface, QueryRunner } from 'typeorm';

/** The two links of a ledger transaction to another, each at most once. */
const LINKS = [
  { column: 'pending_id', name: 'uq_ledger_transactions_pending_id' },
  { column: 'reversal_of', name: 'uq_ledger_transactions_reversal_of' },
];

/**
 * A ledger transaction names at most one other: the hold it posts or voids (pending_id) or the
 * transaction it reverses (reversal_of), and each may be named once. The UNIQUE constraints that
 * said so indexed every transaction, also the many that name nothing: a hold has neither link and a
 * release has no reversal_of, so each lesson confirmation wrote an index entry for a NULL that no
 * uniqueness concerns (NULLs never collide) and no lookup reads (every lookup is by value).
 *
 * They become unique indexes of the transactions that have the link, under the same names, so a
 * second post, void or reversal still fails with the same error (PENDING_TRANSFER_ALREADY_RESOLVED,
 * ALREADY_REVERSED). A condition `pending_id = x` or `pending_id = ANY (ids)` implies
 * `pending_id IS NOT NULL`, so the lookups use these indexes as before. Each index is replaced in
 * this migration's own transaction, which holds the table's lock until both are in place.
 */
export class LedgerLinksIndexOnlyLinkedTransactions1795377500000 implements MigrationInterface {
  name = 'LedgerLinksIndexOnlyLinkedTransactions1795377500000';

  async up(queryRunner: QueryRunner): Promise<void> {
    for (const { column, name } of LINKS) {
      await queryRunner.query(`ALTER TABLE ledger_transactions DROP CONSTRAINT ${name}`);
      await queryRunner.query(`CREATE UNIQUE INDEX ${name} ON ledger_transactions (${column})
        WHERE ${column} IS NOT NULL`);
    }
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const { column, name } of LINKS) {
      await queryRunner.query(`DROP INDEX ${name}`);
      await queryRunner.query(`ALTER TABLE ledger_transactions
        ADD CONSTRAINT ${name} UNIQUE (${column})`);
    }
  }
}
