/**
 * What the ledger's own checks cost a confirmation: `npm run bench:ledger [-- --batches 1,16,64
 * --iterations 30 --institutions 20 --orders 200 --lessons 6000 --json --keep-database]`.
 *
 * Creates a database of its own, applies the migrations and seeds it as `npm run bench` does
 * (lessons awaiting confirmation, their fees held). Then, for each batch size, it releases that
 * many random holds with the service's own statement (resolveHoldsSql, as a confirmation batch
 * writes the ledger) under EXPLAIN ANALYZE, with the constraints made immediate so that what the
 * commit would run is counted too, and rolls back: every run starts from the same books. It
 * prints the median time of each trigger per batch and per lesson, over `--iterations` runs after
 * five to warm the session up.
 *
 * Everything is measured inside one PostgreSQL backend, so the figures move far less with the
 * rest of the machine than the service benchmark's; compare two versions by running both.
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { Client } from 'pg';
import { loadConfig } from '../config/config';
import { binder } from '../database/binder';
import { dropDatabase } from '../database/ensure-database';
import { prepareDatabase } from '../database/migrate';
import { ResolveCommand, resolveHoldsSql } from '../ledger/ledger.service';
import { positive, round } from './bench/args';
import { seedInstitutions, seedOrderRange } from './bench/seed';

const WARMUP_RUNS = 5;

interface Options {
  batches: number[];
  iterations: number;
  institutions: number;
  orders: number;
  lessons: number;
  json: boolean;
  keepDatabase: boolean;
}

function options(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      batches: { type: 'string' },
      iterations: { type: 'string' },
      institutions: { type: 'string' },
      orders: { type: 'string' },
      lessons: { type: 'string' },
      json: { type: 'boolean', default: false },
      'keep-database': { type: 'boolean', default: false },
    },
  });
  const batches = (values.batches ?? '1,16,64')
    .split(',')
    .map((batch) => positive(batch.trim(), 0, '--batches'));
  return {
    batches,
    iterations: positive(values.iterations, 30, '--iterations'),
    institutions: positive(values.institutions, 20, '--institutions'),
    orders: positive(values.orders, 200, '--orders'),
    lessons: positive(values.lessons, 6_000, '--lessons'),
    json: values.json ?? false,
    keepDatabase: values['keep-database'] ?? false,
  };
}

/** One trigger's line in EXPLAIN's JSON. */
interface TriggerTiming {
  'Trigger Name': string;
  /** Set for a constraint's trigger (a foreign key's, or a constraint trigger). */
  'Constraint Name'?: string;
  Relation: string;
  Time: number;
  Calls: number;
}

interface BatchFigures {
  lessons: number;
  runs: number;
  /** Median milliseconds per batch, by trigger, then all triggers and the whole statement. */
  triggersMs: Record<string, number>;
  allTriggersMs: number;
  statementMs: number;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
};

/** Releases `lessons` random holds in a transaction it rolls back; returns EXPLAIN's timings. */
async function releaseOnce(
  client: Client,
  lessons: number,
): Promise<{ triggers: TriggerTiming[]; statementMs: number }> {
  await client.query('BEGIN');
  try {
    await client.query('SET CONSTRAINTS ALL IMMEDIATE');
    const { rows } = await client.query<{ id: string; hold: string }>(
      `SELECT id, hold_transaction_id AS hold FROM lessons
       WHERE status = 'awaiting_confirmation' ORDER BY random() LIMIT $1`,
      [lessons],
    );
    if (rows.length < lessons) throw new Error(`only ${rows.length} lessons to release`);
    const commands: ResolveCommand[] = rows.map((row) => ({
      pendingId: row.hold,
      kind: 'lesson_release',
      reference: `lesson:${row.id}:release`,
      metadata: { lessonId: row.id },
    }));
    const params: unknown[] = [];
    const sql = resolveHoldsSql(binder(params), commands, 'post');
    const { rows: plans } = await client.query<{ 'QUERY PLAN': unknown }>(
      `EXPLAIN (ANALYZE, FORMAT JSON) WITH ${sql} SELECT count(*) FROM tx`,
      params,
    );
    const [plan] = plans[0]['QUERY PLAN'] as {
      Triggers?: TriggerTiming[];
      'Execution Time': number;
    }[];
    return { triggers: plan.Triggers ?? [], statementMs: plan['Execution Time'] };
  } finally {
    await client.query('ROLLBACK');
  }
}

async function measureBatch(client: Client, lessons: number, runs: number) {
  const byTrigger = new Map<string, number[]>();
  const totals: number[] = [];
  const statements: number[] = [];
  for (let run = 0; run < WARMUP_RUNS + runs; run++) {
    const { triggers, statementMs } = await releaseOnce(client, lessons);
    if (run < WARMUP_RUNS) continue;
    let total = 0;
    for (const trigger of triggers) {
      const name = `${trigger['Constraint Name'] ?? trigger['Trigger Name']} on ${trigger.Relation}, ${trigger.Calls} calls`;
      byTrigger.set(name, [...(byTrigger.get(name) ?? []), trigger.Time]);
      total += trigger.Time;
    }
    totals.push(total);
    statements.push(statementMs);
  }
  const figures: BatchFigures = {
    lessons,
    runs,
    triggersMs: Object.fromEntries(
      [...byTrigger].map(([name, times]) => [name, median(times)] as const),
    ),
    allTriggersMs: median(totals),
    statementMs: median(statements),
  };
  return figures;
}

function print(figures: BatchFigures[]): void {
  const ms = (value: number) => String(round(value)).padStart(8);
  const us = (value: number, lessons: number) =>
    `${String(Math.round((value * 1000) / lessons)).padStart(6)} µs/lesson`;
  for (const batch of figures) {
    console.log(
      `batch of ${batch.lessons} release(s), median of ${batch.runs} runs (ms per batch):`,
    );
    for (const [name, value] of Object.entries(batch.triggersMs)) {
      console.log(`  ${ms(value)} ${us(value, batch.lessons)}  ${name}`);
    }
    console.log(
      `  ${ms(batch.allTriggersMs)} ${us(batch.allTriggersMs, batch.lessons)}  all triggers`,
    );
    console.log(
      `  ${ms(batch.statementMs)} ${us(batch.statementMs, batch.lessons)}  whole statement`,
    );
  }
}

async function main(opts: Options): Promise<void> {
  const { config } = loadConfig({ ...process.env, LOG_LEVEL: 'silent' });
  const database = new URL(config.databaseUrl);
  database.pathname = `/escrow_bench_ledger_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  const databaseUrl = database.toString();
  const shape = {
    institutions: opts.institutions,
    lessonsPerOrder: Math.ceil(opts.lessons / opts.orders),
  };
  const client = new Client({ connectionString: databaseUrl, application_name: 'bench ledger' });
  try {
    process.stderr.write(`bench:ledger: ${database.pathname.slice(1)}: migrating and seeding\n`);
    await prepareDatabase({ databaseUrl });
    await client.connect();
    await seedInstitutions(client, shape);
    await seedOrderRange(databaseUrl, shape, 0, opts.orders);
    const figures: BatchFigures[] = [];
    for (const lessons of opts.batches) {
      process.stderr.write(`bench:ledger: batches of ${lessons}\n`);
      figures.push(await measureBatch(client, lessons, opts.iterations));
    }
    const { rows } = await client.query<{ server_version: string }>('SHOW server_version');
    if (opts.json) {
      console.log(JSON.stringify({ postgres: rows[0].server_version, options: opts, figures }));
    } else {
      console.log(
        `ledger triggers of a lesson release batch (PostgreSQL ${rows[0].server_version})`,
      );
      print(figures);
    }
  } finally {
    await client.end().catch(() => undefined);
    if (opts.keepDatabase) process.stderr.write(`bench:ledger: kept ${databaseUrl}\n`);
    else await dropDatabase(databaseUrl);
  }
}

main(options(process.argv.slice(2))).catch((error: unknown) => {
  process.stderr.write(
    `bench:ledger failed: ${error instanceof Error ? error.stack : String(error)}\n`,
  );
  process.exit(1);
});
