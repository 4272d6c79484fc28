import { Client } from 'pg';
import { dropDatabase } from '../../src/database/ensure-database';
import { prepareDatabase } from '../../src/database/migrate';
import { throwawayDatabaseUrl } from '../support/test-database';

/** Processes that start together (an API and its workers, or several replicas) all migrate. */
describe('prepareDatabase (PostgreSQL)', () => {
  const databaseUrl = throwawayDatabaseUrl('migrate');

  afterAll(() => dropDatabase(databaseUrl));

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
});
