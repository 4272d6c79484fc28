/**
 * The service under test, as production runs it: the compiled build, its API and a queue worker
 * in child processes of their own, with its own database, queue prefix and ports. Also the
 * process figures the report needs: peak RSS (VmHWM) and CPU time, read from /proc.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { round } from './args';

export const REPO_ROOT = join(__dirname, '..', '..', '..');

/**
 * Runs a command to completion in the repository (or the checkout `cwd`), its output on our
 * stderr; rejects on failure.
 */
export function run(command: string, args: string[], cwd = REPO_ROOT): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, stdio: ['ignore', 2, 2] });
    child.on('error', reject);
    child.on('exit', (code, signal) =>
      code === 0
        ? resolve()
        : reject(new Error(`${command} ${args.join(' ')} ended with ${signal ?? code}`)),
    );
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface ServiceEnv {
  /** The checkout whose build (dist/) runs; this one by default. */
  root?: string;
  port: number;
  sandboxBankPort: number;
  databaseUrl: string;
  queuePrefix: string;
  jwtSecret: string;
  /** Where to write a V8 CPU profile of the service, if anywhere. */
  cpuProfileDir?: string;
}

/** One Node process of the service, and the last of its output (for the error when it dies). */
class ServiceProcess {
  readonly exited: Promise<void>;
  output = '';

  constructor(readonly child: ChildProcess) {
    const keep = (chunk: Buffer) => {
      this.output = (this.output + chunk.toString()).slice(-8_000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    this.exited = new Promise((resolve) => child.on('exit', () => resolve()));
  }

  get pid(): number {
    if (this.child.pid === undefined) throw new Error('a service process did not start');
    return this.child.pid;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Peak resident set size so far, in bytes (the kernel's high-water mark). */
  peakRssBytes(): number {
    const status = readFileSync(`/proc/${this.pid}/status`, 'utf8');
    const kb = /^VmHWM:\s+(\d+) kB/m.exec(status);
    if (!kb) throw new Error('no VmHWM in /proc/<pid>/status');
    return Number(kb[1]) * 1024;
  }

  /** SIGTERM (graceful shutdown), then SIGKILL if it takes too long. */
  async stop(timeoutMs: number): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGTERM');
    const killed = sleep(timeoutMs).then(() => {
      if (this.running) this.child.kill('SIGKILL');
    });
    await Promise.race([this.exited, killed]);
    await this.exited;
  }
}

/**
 * The service as docker-compose.yml runs it: the API (QUEUE_WORKERS=off) and one queue worker
 * (worker.js), each its own process.
 */
export class Service {
  private constructor(
    private readonly api: ServiceProcess,
    private readonly worker: ServiceProcess,
  ) {}

  static start(env: ServiceEnv): Service {
    const profile = env.cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${env.cpuProfileDir}`] : [];
    const root = env.root ?? REPO_ROOT;
    const spawnNode = (script: string, queueWorkers: 'on' | 'off') =>
      new ServiceProcess(
        spawn(process.execPath, [...profile, join(root, 'dist', 'src', script)], {
          cwd: root,
          stdio: ['ignore', 'pipe', 'pipe'],
          // Each its own session, as each would be its own container. Where the kernel groups
          // CPU time by session (autogroup), the service would otherwise split one group's share
          // with this process's load generator, while PostgreSQL has a group of its own. The
          // bench stops them itself, also when interrupted: a terminal's Ctrl-C no longer
          // reaches them.
          detached: true,
          env: {
            ...process.env,
            PORT: String(env.port),
            DATABASE_URL: env.databaseUrl,
            QUEUE_PREFIX: env.queuePrefix,
            QUEUE_WORKERS: queueWorkers,
            LOG_LEVEL: 'warn',
            BANK_MODE: 'sandbox',
            SANDBOX_BANK_PORT: String(env.sandboxBankPort),
            JWT_SECRET: env.jwtSecret,
          },
        }),
      );
    return new Service(spawnNode('main.js', 'off'), spawnNode('worker.js', 'on'));
  }

  get pids(): { api: number; worker: number } {
    return { api: this.api.pid, worker: this.worker.pid };
  }

  /** Waits until GET /health answers 200 (database and Redis up), with the worker running. */
  async ready(baseUrl: string, timeoutMs = 90_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      for (const [name, part] of Object.entries({ api: this.api, worker: this.worker })) {
        if (!part.running) {
          throw new Error(`the service's ${name} exited while starting:\n${part.output}`);
        }
      }
      try {
        const response = await fetch(`${baseUrl}/health`);
        if (response.status === 200) return;
      } catch {
        // not listening yet
      }
      await sleep(250);
    }
    throw new Error(`the service was not healthy within ${timeoutMs} ms:\n${this.api.output}`);
  }

  /** Peak resident set size so far of each process, in bytes. */
  peakRssBytes(): { api: number; worker: number } {
    return { api: this.api.peakRssBytes(), worker: this.worker.peakRssBytes() };
  }

  /** CPU time (user + system) both processes have used, in milliseconds. */
  cpuMs(): number {
    return processCpuMs(this.api.pid) + processCpuMs(this.worker.pid);
  }

  /** Both processes: SIGTERM (graceful shutdown), then SIGKILL if it takes too long. */
  async stop(timeoutMs = 20_000): Promise<void> {
    await Promise.all([this.api.stop(timeoutMs), this.worker.stop(timeoutMs)]);
  }
}

/** Waits (bounded) until the service's background sealer has caught up with the seeded ledger. */
export async function waitForSealing(admin: Client, timeoutMs: number): Promise<string> {
  try {
    const [{ present }] = (
      await admin.query<{ present: boolean }>(
        `SELECT to_regclass('ledger_seal_blocks') IS NOT NULL AS present`,
      )
    ).rows;
    if (!present) return 'no sealing in this build';
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const [{ total, sealed }] = (
        await admin.query<{ total: string; sealed: string }>(
          `SELECT (SELECT count(*) FROM ledger_transactions) AS total,
                  (SELECT coalesce(sum(transaction_count), 0) FROM ledger_seal_blocks) AS sealed`,
        )
      ).rows;
      if (Number(sealed) >= Number(total)) return `sealed ${sealed} seeded transactions`;
      if (Date.now() > deadline) return `sealing still behind (${sealed}/${total}), went on`;
      await sleep(500);
    }
  } catch (error) {
    return `could not follow the sealer (${String(error)}), went on`;
  }
}

/** The service's confirmation batches between two scrapes of its /metrics. */
export interface BatchFigures {
  count: number;
  /** Lessons the batches confirmed. */
  confirmations: number;
  meanSize: number;
  /**
   * Lessons a batch's statement left awaiting confirmation, confirmed again one at a time (before
   * batches read after their statement, lessons changed between the read and the statement).
   */
  conflicts: number;
  /**
   * Batches whose statement (or the read after it) failed: the confirmations they had not
   * answered ran again one at a time.
   */
  fallbacks: number;
  /**
   * Where a confirmation's time went inside the service, in mean milliseconds: its whole request
   * in the API (from its first byte read to its answer written), and in it waiting for a batch to
   * start, the batch's statement with its commit and the batch's read (of the lessons its
   * statement did not confirm; before, of all its lessons, ahead of the statement). Null where
   * the service measured none (a build from before it measured them, or no read).
   */
  meanMs: {
    request: number | null;
    wait: number | null;
    read: number | null;
    write: number | null;
  };
}

const BATCH_METRICS = {
  count: 'escrow_confirmation_batch_size_count',
  size: 'escrow_confirmation_batch_size_sum',
  conflicts: 'escrow_confirmation_conflicts_total',
  fallbacks: 'escrow_confirmation_batch_fallbacks_total',
};

/** The histograms of a confirmation's steps, in seconds: name and labels. */
const STEP_METRICS = {
  request: [
    'http_request_duration_seconds',
    '{method="POST",route="/v1/lessons/:id/confirm",status="200"}',
  ],
  wait: ['escrow_confirmation_wait_seconds', ''],
  read: ['escrow_confirmation_read_seconds', ''],
  write: ['escrow_confirmation_write_seconds', ''],
};

export function batchFigures(
  before: Map<string, number>,
  after: Map<string, number>,
): BatchFigures {
  const delta = (name: string) => (after.get(name) ?? 0) - (before.get(name) ?? 0);
  const count = delta(BATCH_METRICS.count);
  const confirmations = delta(BATCH_METRICS.size);
  const meanMs = ([histogram, labels]: string[]) => {
    const observed = delta(`${histogram}_count${labels}`);
    return observed > 0 ? round((delta(`${histogram}_sum${labels}`) * 1000) / observed, 2) : null;
  };
  return {
    count,
    confirmations,
    meanSize: round(confirmations / Math.max(1, count), 1),
    conflicts: delta(BATCH_METRICS.conflicts),
    fallbacks: delta(BATCH_METRICS.fallbacks),
    meanMs: {
      request: meanMs(STEP_METRICS.request),
      wait: meanMs(STEP_METRICS.wait),
      read: meanMs(STEP_METRICS.read),
      write: meanMs(STEP_METRICS.write),
    },
  };
}

/** A load run on the service, and what it cost: the service's and PostgreSQL's CPU, the machine. */
export interface Measured<T> {
  result: T;
  serviceCpuMs: number;
  /** PostgreSQL's CPU on the service's database; null when it could not be read. */
  databaseCpuMs: number | null;
  machineCpuBusyPercent: number;
  /** The confirmation batches while it ran. */
  batches: BatchFigures;
  /** The service's /metrics at its start and at its end. */
  metricsBefore: Map<string, number>;
  metrics: Map<string, number>;
}

/** Runs `work` (load on the service at `baseUrl`) and measures it; `admin` is on its database. */
export async function measureLoad<T>(
  service: Service,
  admin: Client,
  baseUrl: string,
  work: () => Promise<T>,
): Promise<Measured<T>> {
  const databaseCpu = new DatabaseCpu(admin);
  databaseCpu.start();
  // This scrape also restarts the API's event-loop delay histogram.
  const metricsBefore = await scrapeMetrics(baseUrl);
  const serviceCpuBefore = service.cpuMs();
  const machineBefore = machineCpu();
  const result = await work();
  const machineAfter = machineCpu();
  const serviceCpuMs = service.cpuMs() - serviceCpuBefore;
  const metrics = await scrapeMetrics(baseUrl);
  return {
    result,
    serviceCpuMs,
    databaseCpuMs: await databaseCpu.stop(),
    machineCpuBusyPercent: busyPercent(machineBefore, machineAfter),
    batches: batchFigures(metricsBefore, metrics),
    metricsBefore,
    metrics,
  };
}

/**
 * A database checkpoint before a measurement, so that one set off by the seeding's write-ahead
 * log does not fall inside it (and the service and pgbench each start from one). Needs a
 * superuser or pg_checkpoint: without, it tells `progress` why, and the measurement goes on.
 */
export async function checkpointBeforeMeasuring(
  admin: Client,
  progress: (message: string) => void,
): Promise<void> {
  try {
    await admin.query('CHECKPOINT');
  } catch (error) {
    progress(`no checkpoint before measuring (${String(error)}); measuring anyway`);
  }
}

/** The samples of the service's Prometheus metrics, by name and labels as written (`name{a="b"}`). */
export async function scrapeMetrics(baseUrl: string): Promise<Map<string, number>> {
  const response = await fetch(`${baseUrl}/metrics`);
  if (response.status !== 200) throw new Error(`GET /metrics answered ${response.status}`);
  const samples = new Map<string, number>();
  for (const line of (await response.text()).split('\n')) {
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (\S+)$/.exec(line);
    if (sample) samples.set(sample[1], Number(sample[2]));
  }
  return samples;
}

const CLOCK_TICKS_PER_SECOND = 100;

export function processCpuMs(pid: number): number {
  // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_SECOND;
}

/** Busy and total CPU time of the whole machine (all cores), in clock ticks. */
export function machineCpu(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0];
  const ticks = line.split(/\s+/).slice(1).map(Number);
  const idle = ticks[3] + (ticks[4] ?? 0);
  const total = ticks.slice(0, 8).reduce((sum, value) => sum + value, 0);
  return { busy: total - idle, total };
}

/** How busy the whole machine was between two readings of machineCpu, in percent. */
export const busyPercent = (
  before: ReturnType<typeof machineCpu>,
  after: ReturnType<typeof machineCpu>,
) => Math.round(((after.busy - before.busy) * 100) / Math.max(1, after.total - before.total));

/**
 * CPU time the database's server processes spend on our database (its backends and autovacuum
 * workers), sampled from /proc while a phase runs. Needs PostgreSQL on this machine; elsewhere it
 * reports null.
 */
export class DatabaseCpu {
  private readonly seen = new Map<number, { first: number; last: number }>();
  private timer: NodeJS.Timeout | undefined;
  private sampling: Promise<void> = Promise.resolve();
  private failed = false;

  constructor(private readonly client: Client) {}

  start(intervalMs = 250): void {
    this.seen.clear();
    this.sampling = this.sample(true);
    this.timer = setInterval(() => {
      this.sampling = this.sampling.then(() => this.sample());
    }, intervalMs);
  }

  /** Stops sampling; returns the CPU milliseconds used since start, or null when unreadable. */
  async stop(): Promise<number | null> {
    clearInterval(this.timer);
    await this.sampling;
    await this.sample();
    if (this.failed) return null;
    let total = 0;
    for (const { first, last } of this.seen.values()) total += last - first;
    return total;
  }

  /** Processes first seen after the start began during the phase: all their time counts. */
  private async sample(initial = false): Promise<void> {
    try {
      const { rows } = await this.client.query<{ pid: number }>(
        `SELECT pid FROM pg_stat_activity
         WHERE datname = current_database() AND pid <> pg_backend_pid()`,
      );
      for (const { pid } of rows) {
        let cpu: number;
        try {
          cpu = processCpuMs(pid);
        } catch {
          continue; // ended between the query and the read
        }
        const entry = this.seen.get(pid);
        if (entry) entry.last = cpu;
        else this.seen.set(pid, { first: initial ? cpu : 0, last: cpu });
      }
    } catch {
      this.failed = true;
    }
  }
}
