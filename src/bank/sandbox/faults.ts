/**
 * Faults a test or a person can inject, per account or for the whole bank ('*'). Counters are
 * consumed one call at a time with an atomic decrement, so ten concurrent calls against
 * `failNext: 3` see exactly three failures.
 */
import type { Pool, PoolClient } from 'pg';

export const GLOBAL_SCOPE = '*';
export const TIMEOUT_MODES = ['after_work', 'before_work'] as const;
export type TimeoutMode = (typeof TIMEOUT_MODES)[number];

export interface FaultSettings {
  /** The next N bank-API calls answer 503 and do nothing. */
  failNext?: number;
  /** The next N transfer instructions are executed as failed: 'beneficiary account closed'. */
  rejectNext?: number;
  /** The next N bank-API calls never answer (see `timeoutMode`). */
  timeoutNext?: number;
  /** `after_work` (default): the call does its work, then hangs; `before_work`: it only hangs. */
  timeoutMode?: TimeoutMode;
  /** Every bank-API call waits this long before it is handled, until the faults are cleared. */
  delayMs?: number;
  /** The next N notifications are delivered twice (same event id, same body). */
  duplicateNotifications?: number;
}

export interface FaultState extends Required<FaultSettings> {
  /** An account number, or '*' for the whole bank. */
  scope: string;
}

type Counter = 'fail_next' | 'reject_next' | 'timeout_next' | 'duplicate_notifications';

const COLUMNS: Record<keyof FaultSettings, string> = {
  failNext: 'fail_next',
  rejectNext: 'reject_next',
  timeoutNext: 'timeout_next',
  timeoutMode: 'timeout_mode',
  delayMs: 'delay_ms',
  duplicateNotifications: 'duplicate_notifications',
};

interface FaultRow {
  scope: string;
  fail_next: number;
  reject_next: number;
  timeout_next: number;
  timeout_mode: TimeoutMode;
  delay_ms: number;
  duplicate_notifications: number;
}

const toState = (row: FaultRow): FaultState => ({
  scope: row.scope,
  failNext: row.fail_next,
  rejectNext: row.reject_next,
  timeoutNext: row.timeout_next,
  timeoutMode: row.timeout_mode,
  delayMs: row.delay_ms,
  duplicateNotifications: row.duplicate_notifications,
});

export class FaultStore {
  constructor(private readonly pool: Pool) {}

  /** Sets the given settings of one scope; settings not given keep their value. */
  async set(scope: string, settings: FaultSettings): Promise<FaultState> {
    const entries = (Object.keys(COLUMNS) as (keyof FaultSettings)[])
      .filter((key) => settings[key] !== undefined)
      .map((key) => [COLUMNS[key], settings[key]] as const);
    const columns = entries.map(([column]) => column);
    const values = entries.map(([, value]) => value);
    const updates = columns.map((column) => `${column} = EXCLUDED.${column}`);
    const rows = (
      await this.pool.query<FaultRow>(
        `INSERT INTO faults (scope${columns.map((c) => `, ${c}`).join('')})
         VALUES ($1${values.map((_, i) => `, $${i + 2}`).join('')})
         ON CONFLICT (scope) DO UPDATE SET updated_at = now()${updates.map((u) => `, ${u}`).join('')}
         RETURNING *`,
        [scope, ...values],
      )
    ).rows;
    return toState(rows[0]);
  }

  /** Clears one scope, or every fault when no scope is given. */
  async clear(scope?: string): Promise<void> {
    if (scope === undefined) await this.pool.query('DELETE FROM faults');
    else await this.pool.query('DELETE FROM faults WHERE scope = $1', [scope]);
  }

  async list(): Promise<FaultState[]> {
    const { rows } = await this.pool.query<FaultRow>('SELECT * FROM faults ORDER BY scope');
    return rows.map(toState);
  }

  /**
   * Consumes one unit of `counter` from the first of `scopes` (most specific first) that has any
   * left. Inside a transaction pass its client, so a rolled-back call gives the unit back.
   */
  async take(
    scopes: string[],
    counter: Counter,
    client: Pool | PoolClient = this.pool,
  ): Promise<FaultState | null> {
    for (const scope of scopes) {
      const { rows } = await client.query<FaultRow>(
        `UPDATE faults SET ${counter} = ${counter} - 1, updated_at = now()
         WHERE scope = $1 AND ${counter} > 0 RETURNING *`,
        [scope],
      );
      if (rows[0]) return toState(rows[0]);
    }
    return null;
  }

  /** The longest delay configured for any of `scopes`. */
  async delayFor(scopes: string[]): Promise<number> {
    const { rows } = await this.pool.query<{ delay: number | null }>(
      'SELECT max(delay_ms) AS delay FROM faults WHERE scope = ANY($1)',
      [scopes],
    );
    return rows[0]?.delay ?? 0;
  }
}
