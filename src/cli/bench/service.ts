/**
 * The service under test, as production runs it: the compiled build, its API and a queue worker
 * in child processes of their own, with its own database, queue prefix and ports. Also the
 * process figures the report needs: peak RSS (VmHWM) and CPU time, read from /proc.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';

export const REPO_ROOT = join(__dirname, '..', '..', '..');

/** Runs a command to completion in the repository, its output on our stderr; rejects on failure. */
export function run(command: string, args: string[], env = process.env): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: REPO_ROOT, env, stdio: ['ignore', 2, 2] });
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
    const spawnNode = (script: string, queueWorkers: 'on' | 'off') =>
      new ServiceProcess(
        spawn(process.execPath, [...profile, join(REPO_ROOT, 'dist', 'src', script)], {
          cwd: REPO_ROOT,
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

/** The unlabelled samples of the service's Prometheus metrics (`name value` lines), by name. */
export async function scrapeMetrics(baseUrl: string): Promise<Map<string, number>> {
  const response = await fetch(`${baseUrl}/metrics`);
  if (response.status !== 200) throw new Error(`GET /metrics answered ${response.status}`);
  const samples = new Map<string, number>();
  for (const line of (await response.text()).split('\n')) {
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*) (\S+)$/.exec(line);
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
