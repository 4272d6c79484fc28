/**
 * The raw-SQL limit: pgbench runs the service's statement for one confirmation (pgbenchScript)
 * against the same database, at the same concurrency, and logs each transaction's latency so
 * that its percentiles sit beside the service's.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { binder } from '../../database/binder';
import { confirmationSql } from '../../lessons/usecases/confirm-lesson';
import { Percentiles, percentiles } from './load';
import { lessonIdSql, parentIdSql } from './seed';

/**
 * Stand-ins for a confirmation's values (no real value looks like them), each written in the
 * script as pgbench computes it per transaction.
 */
const PER_TRANSACTION = new Map<unknown, string>([
  ['{lesson}', lessonIdSql(':n::text')],
  ['{parent}', parentIdSql(':o::text')],
  ['{scope}', `'parent' || ':' || ${parentIdSql(':o::text')}`],
  ['{key}', `'pgbench-' || :n::text`],
  ['{fingerprint}', `md5(:n::text)`],
]);
const NOW = new Date(0);

/** A value bound to the statement, as SQL in the script. */
function scriptValue(value: unknown): string {
  if (Array.isArray(value)) return `ARRAY[${value.map(scriptValue).join(', ')}]`;
  const computed = PER_TRANSACTION.get(value);
  if (computed !== undefined) return `(${computed})`;
  if (value === NOW) return 'now()';
  if (value === null) return 'NULL';
  if (typeof value === 'number') return String(value);
  if (typeof value === 'string') return scriptLiteral(value);
  throw new Error(`no script form for ${JSON.stringify(value)}`);
}

/**
 * A string literal pgbench leaves alone: it reads `:name` as a variable anywhere, even inside a
 * literal, so a colon goes in on its own, and the pieces are bracketed so that a cast after the
 * literal applies to all of it.
 */
function scriptLiteral(text: string): string {
  const pieces = text.split(':').map((piece) => `'${piece.replaceAll("'", "''")}'`);
  return pieces.length === 1 ? pieces[0] : `(${pieces.join(" || ':' || ")})`;
}

/**
 * The statement's own literals, made safe for pgbench as scriptLiteral does. Plain '…' literals
 * only: the statement has no E'…' or dollar-quoted strings, and no comments.
 */
const scriptText = (sql: string) =>
  sql.replace(/'(?:[^']|'')*'/g, (literal) =>
    scriptLiteral(literal.slice(1, -1).replaceAll("''", "'")),
  );

/**
 * The pgbench script: one transaction is the service's own confirmation statement
 * (confirmationSql), for one confirmation with an Idempotency-Key, its values computed per
 * transaction instead of bound; a confirmation it did not make fails the client (\gset wants a
 * row). So the ratio service/pgbench measures what the service adds around the database work.
 *
 * Variables (pgbench -D): clients, base, size, lpo (lessons per order), k=0. Each client takes
 * the next lesson of its own stride through a pseudorandom permutation of lessons
 * base .. base+size-1, so no two transactions confirm the same lesson; seed.ts derives lesson
 * n's id and its parent from n.
 */
export function pgbenchScript(): string {
  const params: unknown[] = [];
  const text = confirmationSql(
    binder(params),
    [
      {
        lessonId: '{lesson}',
        parentId: '{parent}',
        confirmation: { status: 'confirmed', by: '{parent}', at: NOW, rating: 5 },
        request: {
          scope: '{scope}',
          key: '{key}',
          fingerprint: '{fingerprint}',
          statusCode: 200,
        },
      },
    ],
    'parent',
  );
  const statement = scriptText(text).replace(/\$(\d+)/g, (_, index: string) =>
    scriptValue(params[Number(index) - 1]),
  );
  return [
    '\\set i :k * :clients + :client_id',
    '\\set k :k + 1',
    '\\set n :base + permute(:i, :size)',
    '\\set o :n / :lpo',
    // \gset ends the statement, which runs over several lines.
    `${statement}`,
    '\\gset confirmed_',
    '',
  ].join('\n');
}

export type PgbenchProtocol = 'extended' | 'prepared';

export interface PgbenchRun {
  databaseUrl: string;
  clients: number;
  threads: number;
  /** Either a time or a number of transactions per client. */
  seconds?: number;
  transactionsPerClient?: number;
  /** Lessons base .. base+size-1, lessonsPerOrder as seeded. */
  base: number;
  size: number;
  lessonsPerOrder: number;
  protocol: PgbenchProtocol;
  binary: string;
}

export interface PgbenchResult {
  transactions: number;
  tps: number;
  failed: number;
  /** A client stopped on an error (e.g. it found no lesson awaiting confirmation). */
  aborted: boolean;
  latencyMs: Percentiles;
  output: string;
}

export async function runPgbench(run: PgbenchRun): Promise<PgbenchResult> {
  const logDir = mkdtempSync(join(tmpdir(), 'escrow-bench-pgbench-'));
  const script = join(logDir, 'confirm-lesson.sql');
  writeFileSync(script, pgbenchScript());
  const args = [
    '--no-vacuum',
    `--protocol=${run.protocol}`,
    `--client=${run.clients}`,
    `--jobs=${run.threads}`,
    ...(run.seconds !== undefined
      ? [`--time=${run.seconds}`]
      : [`--transactions=${run.transactionsPerClient ?? 1}`]),
    '--log',
    `--log-prefix=${join(logDir, 'tx')}`,
    `--define=clients=${run.clients}`,
    `--define=base=${run.base}`,
    `--define=size=${run.size}`,
    `--define=lpo=${run.lessonsPerOrder}`,
    '--define=k=0',
    `--file=${script}`,
    run.databaseUrl,
  ];
  try {
    const { code, output } = await new Promise<{ code: number | null; output: string }>(
      (resolve, reject) => {
        const child = spawn(run.binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
        let text = '';
        child.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
        child.stderr.on('data', (chunk: Buffer) => (text += chunk.toString()));
        child.on('error', reject);
        child.on('exit', (exitCode) => resolve({ code: exitCode, output: text }));
      },
    );
    const number = (pattern: RegExp) => {
      const match = pattern.exec(output);
      return match ? Number(match[1]) : NaN;
    };
    const tps = number(/^tps = ([\d.]+)/m);
    if (Number.isNaN(tps)) throw new Error(`pgbench gave no figures:\n${output}`);
    // Log lines: client_id transaction_no latency_us script_no epoch_s epoch_us
    const latencies: number[] = [];
    for (const file of readdirSync(logDir)) {
      for (const line of readFileSync(join(logDir, file), 'utf8').split('\n')) {
        const fields = line.split(' ');
        if (fields.length >= 3 && /^\d+$/.test(fields[2])) latencies.push(Number(fields[2]) / 1000);
      }
    }
    return {
      transactions: number(/^number of transactions actually processed: (\d+)/m),
      tps: Math.round(tps * 10) / 10,
      failed: number(/^number of failed transactions: (\d+)/m) || 0,
      aborted: code !== 0 || /aborted/.test(output),
      latencyMs: percentiles(latencies),
      output,
    };
  } finally {
    rmSync(logDir, { recursive: true, force: true });
  }
}
