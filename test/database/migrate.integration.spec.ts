import { Client } from 'pg';
import { DataSource, MigrationInterface } from 'typeorm';
import { CheckLedgerTransactionsPerStatement1795377400000 } from '../../migrations/1795377400000-CheckLedgerTransactionsPerStatement';
import { LedgerLinksIndexOnlyLinkedTransactions1795377500000 } from '../../migrations/1795377500000-LedgerLinksIndexOnlyLinkedTransactions';
import { dataSourceOptions } from '../../src/database/data-source';
import { dropDatabase } from '../../src/database/ensure-database';
import { prepareDatabase } from '../../src/database/migrate';
import { throwawayDatabaseUrl } from '../support/test-database';

/** Processes that start together (an API and its workers, or several replicas) all migrate. */
describe('prepareDatabase (PostgreSQL)', () => {
  const databaseUrl = throwawayDatabaseUrl('migrate');

  afterAll(() => dropDatabase(databaseUrl));

  /**
   * Reverts `migration` (its down, and its record dropped, as migration:revert does; no later
   * migration changes what it made) and lets prepareDatabase apply it again. `read` finds
   * `applied` before and after, and `reverted` in between.
   */
  async function expectRevertedAndReapplied<T>(
    migration: MigrationInterface & { name: string },
    read: (dataSource: DataSource) => Promise<T>,
    states: { applied: T; reverted: T },
  ): Promise<void> {
    await prepareDatabase({ databaseUrl });
    const dataSource = new DataSource({ ...dataSourceOptions({ databaseUrl }), entities: [] });
    await dataSource.initialize();
    try {
      expect(await read(dataSource)).toEqual(states.applied);
      await dataSource.transaction(async (manager) => {
        await migration.down(manager.queryRunner!);
        await manager.query('DELETE FROM schema_migrations WHERE name = $1', [migration.name]);
      });
      expect(await read(dataSource)).toEqual(states.reverted);
      expect(await prepareDatabase({ databaseUrl })).toEqual([migration.name]);
      expect(await read(dataSource)).toEqual(states.applied);
    } finally {
      await dataSource.destroy();
    }
  }

  it('applies each migration once when several processes start at the same moment', async () => {
    const starts = await Promise.allSettled(
      Array.from({ length: 4 }, () => prepareDatabase({ databaseUrl })),
    );
    expect(starts.filter((start) => start.status === 'rejected')).toEqual([]);
    const applied = starts.flatMap((start) => (start.status === 'fulfilled' ? start.value : []));
    const client = new Client({ connectionString: databaseUrl });
    await client.connect();
    try {
      const { rows } = await client.query<{ name: string }>(
        'SELECT name FROM schema_migrations ORDER BY id',
      );
      expect(rows.length).toBeGreaterThan(0);
      // Every migration recorded once, and applied by exactly one of the starts.
      expect(new Set(rows.map((row) => row.name)).size).toBe(rows.length);
      expect([...applied].sort()).toEqual(rows.map((row) => row.name).sort());
    } finally {
      await client.end();
    }
  });

  it('brings the ledger functions of a database migrated before AccountsNeverBehindTheirPostings up to date', async () => {
    await prepareDatabase({ databaseUrl });
    const client = new Client({ connectionString: databaseUrl });
    await client.connect();
    const source = async (name: string) =>
      (
        await client.query<{ prosrc: string }>('SELECT prosrc FROM pg_proc WHERE proname = $1', [
          name,
        ])
      ).rows[0].prosrc;
    try {
      // Stand-ins for the first form of ApplyPostingsPerStatement's functions, as a database
      // that applied it holds them, and the migration not yet applied there.
      await client.query(`CREATE OR REPLACE FUNCTION ledger_apply_postings() RETURNS trigger
        LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$`);
      await client.query(`CREATE OR REPLACE FUNCTION ledger_apply_posting() RETURNS trigger
        LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$`);
      await client.query(`DELETE FROM schema_migrations WHERE name = $1`, [
        'AccountsNeverBehindTheirPostings1795377300000',
      ]);

      expect(await prepareDatabase({ databaseUrl })).toEqual([
        'AccountsNeverBehindTheirPostings1795377300000',
      ]);
      expect(await source('ledger_apply_postings')).toMatch(/EL003/);
      expect(await source('ledger_apply_posting')).toMatch(/TABLE = 'ledger_accounts'/);
    } finally {
      await client.end();
    }
  });
  it('reverts CheckLedgerTransactionsPerStatement to the deferred checks per posting, and applies it again', async () => {
    /** The postings' check triggers and whether the per-statement check function exists. */
    const checks = async (dataSource: DataSource) => {
      const triggers = await dataSource.query(
        `SELECT tgname AS name, tgdeferrable AS deferrable, tginitdeferred AS "initiallyDeferred",
                (tgtype & 1) = 1 AS "perRow", tgfoid::regproc::text AS function
         FROM pg_trigger
         WHERE tgrelid = 'ledger_postings'::regclass AND tgname IN
           ('trg_ledger_postings_balanced', 'trg_ledger_postings_check_transactions')`,
      );
      const [{ present }] = await dataSource.query(
        `SELECT to_regprocedure('ledger_check_transactions(uuid[])') IS NOT NULL
                AND to_regprocedure('ledger_check_inserted_transactions()') IS NOT NULL AS present`,
      );
      return { triggers: triggers.map((row: object) => ({ ...row })), functions: present };
    };
    const perStatement = {
      triggers: [
        {
          name: 'trg_ledger_postings_check_transactions',
          deferrable: false,
          initiallyDeferred: false,
          perRow: false,
          function: 'ledger_check_inserted_transactions',
        },
      ],
      functions: true,
    };
    await expectRevertedAndReapplied(
      new CheckLedgerTransactionsPerStatement1795377400000(),
      checks,
      {
        applied: perStatement,
        reverted: {
          triggers: [
            {
              name: 'trg_ledger_postings_balanced',
              deferrable: true,
              initiallyDeferred: true,
              perRow: true,
              function: 'ledger_check_transaction',
            },
          ],
          functions: false,
        },
      },
    );
  });

  it('reverts the ledger links to UNIQUE constraints over every transaction, and applies the partial indexes again', async () => {
    /** How each link of a transaction is kept unique: by a constraint, or a partial index. */
    const links = async (dataSource: DataSource) =>
      (
        await dataSource.query(
          `SELECT i.indexrelid::regclass::text AS name, i.indisunique AS "unique",
                  pg_get_expr(i.indpred, i.indrelid) AS "where",
                  EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid) AS constraint
           FROM pg_index i
           WHERE i.indrelid = 'ledger_transactions'::regclass
             AND i.indexrelid::regclass::text IN
               ('uq_ledger_transactions_pending_id', 'uq_ledger_transactions_reversal_of')
           ORDER BY 1`,
        )
      ).map((row: object) => ({ ...row }));
    const partial = [
      {
        name: 'uq_ledger_transactions_pending_id',
        unique: true,
        where: '(pending_id IS NOT NULL)',
        constraint: false,
      },
      {
        name: 'uq_ledger_transactions_reversal_of',
        unique: true,
        where: '(reversal_of IS NOT NULL)',
        constraint: false,
      },
    ];
    await expectRevertedAndReapplied(
      new LedgerLinksIndexOnlyLinkedTransactions1795377500000(),
      links,
      {
        applied: partial,
        reverted: partial.map((link) => ({ ...link, where: null, constraint: true })),
      },
    );
  });
});
