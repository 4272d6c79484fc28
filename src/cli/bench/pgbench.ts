/**
 * The raw-SQL limit: pgbench runs confirm-lesson.sql (the service's statements for one
 * confirmation) against the same database, at the same concurrency, and logs each transaction's
 * latency so that its percentiles sit beside the service's.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Percentiles, percentiles } from './load';

export const PGBENCH_SCRIPT = join(__dirname, 'confirm-lesson.sql');

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
    `--file=${PGBENCH_SCRIPT}`,
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
