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
 * `pending_id IS NOT NULL`, so the lookups use these indexes as before.
 *
 * Each new index is built beside the constraint it replaces, under a name of its own: while it is
 * built the ledger can be read but not written (CREATE INDEX locks out writes only), and the
 * constraint keeps guarding until the moment it is dropped and the index takes its name, all in
 * this migration's transaction. Going back builds the full index the same way and makes it the
 * constraint again (ADD CONSTRAINT ... USING INDEX).
 */
export class LedgerLinksIndexOnlyLinkedTransactions1795377500000 implements MigrationInterface {
  name = 'LedgerLinksIndexOnlyLinkedTransactions1795377500000';

  async up(queryRunner: QueryRunner): Promise<void> {
    for (const { column, name } of LINKS) {
      await queryRunner.query(`CREATE UNIQUE INDEX ${name}_linked ON ledger_transactions (${column})
        WHERE ${column} IS NOT NULL`);
      await queryRunner.query(`ALTER TABLE ledger_transactions DROP CONSTRAINT ${name}`);
      await queryRunner.query(`ALTER INDEX ${name}_linked RENAME TO ${name}`);
    }
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const { column, name } of LINKS) {
      await queryRunner.query(`CREATE UNIQUE INDEX ${name}_all ON ledger_transactions (${column})`);
      await queryRunner.query(`DROP INDEX ${name}`);
      await queryRunner.query(`ALTER TABLE ledger_transactions
        ADD CONSTRAINT ${name} UNIQUE USING INDEX ${name}_all`);
    }
  }
}
