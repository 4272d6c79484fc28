/**
 * Benchmark of lesson confirmation beside its raw-SQL limit: `npm run bench -- [--quick] [--json]
 * [--duration 30] [--warmup 5] [--connections 32] [--lessons 60000] [--orders 2000]
 * [--institutions 20] [--pgbench-protocol prepared] [--skip-build] [--keep-database]
 * [--cpu-prof <dir>]` (the last writes a V8 CPU profile of each service process to <dir>).
 *
 * On loopback only: creates a fresh database, seeds it in SQL, starts the compiled service (its
 * API and a queue worker, each a process, as docker-compose.yml runs them), drives
 * POST /v1/lessons/:id/confirm with autocannon (after a warm-up, seeding more lessons first when
 * those left would not last the measurement), stops the service, runs pgbench with the same
 * statements at the same concurrency and time, checks that every confirmation was durable and
 * released once and that the books balance, prints the figures, drops the database.
 * Exits 0, 2 when a check failed, 1 when the benchmark could not run.
 */
import { randomBytes } from 'node:crypto';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { Client } from 'pg';
import { loadConfig } from '../config/config';
import { dropDatabase } from '../database/ensure-database';
import { prepareDatabase } from '../database/migrate';
import { dropQueueKeys } from '../queues/drop-queue-keys';
import { round } from './bench/args';
import { LedgerChecks, checkLedger } from './bench/checks';
import {
  ConfirmRequest,
  ConfirmationSupply,
  LessonRange,
  Percentiles,
  confirmLoad,
} from './bench/load';
import { PgbenchProtocol, runPgbench } from './bench/pgbench';
import { SeedShape, seedInstitutions, seedOrderRange } from './bench/seed';
import { freePort } from '../common/net/free-port';
import { EVENT_LOOP_SAMPLING_MS } from '../metrics/event-loop';
import {
  BatchFigures,
  DatabaseCpu,
  checkpointBeforeMeasuring,
  Service,
  busyPercent,
  machineCpu,
  measureLoad,
  run,
  waitForSealing,
} from './bench/service';

interface Options {
  institutions: number;
  orders: number;
  lessons: number;
  connections: number;
  duration: number;
  warmup: number;
  pgbenchProtocol: PgbenchProtocol;
  pgbench: string;
  json: boolean;
  build: boolean;
  keepDatabase: boolean;
  cpuProfileDir?: string;
}

const DEFAULTS = {
  institutions: 20,
  orders: 2_000,
  lessons: 60_000,
  connections: 32,
  duration: 30,
  warmup: 5,
};
/** A smoke run: small and short. */
const QUICK: typeof DEFAULTS = {
  institutions: 4,
  orders: 100,
  lessons: 12_000,
  connections: 8,
  duration: 5,
  warmup: 2,
};

function options(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      institutions: { type: 'string' },
      orders: { type: 'string' },
      lessons: { type: 'string' },
      connections: { type: 'string' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      'pgbench-protocol': { type: 'string', default: 'prepared' },
      pgbench: { type: 'string', default: 'pgbench' },
      quick: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      'skip-build': { type: 'boolean', default: false },
      'keep-database': { type: 'boolean', default: false },
      'cpu-prof': { type: 'string' },
    },
  });
  const preset = values.quick ? QUICK : DEFAULTS;
  const integer = (name: keyof typeof DEFAULTS, min: number, max: number) => {
    const raw = values[name];
    if (raw === undefined) return preset[name];
    if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
      throw new Error(`--${name} must be an integer from ${min} to ${max}, got "${raw}"`);
    }
    return Number(raw);
  };
  const protocol = values['pgbench-protocol'];
  // Not 'simple': the script's variables are parameters (`:id::uuid`), which that protocol would
  // paste into the SQL unquoted.
  if (!['extended', 'prepared'].includes(protocol)) {
    throw new Error('--pgbench-protocol must be extended or prepared');
  }
  const result: Options = {
    institutions: integer('institutions', 1, 10_000),
    orders: integer('orders', 1, 1_000_000),
    lessons: integer('lessons', 1, 10_000_000),
    connections: integer('connections', 1, 1_000),
    duration: integer('duration', 1, 3_600),
    warmup: integer('warmup', 0, 600),
    pgbenchProtocol: protocol as PgbenchProtocol,
    pgbench: values.pgbench,
    json: values.json,
    build: !values['skip-build'],
    keepDatabase: values['keep-database'],
    cpuProfileDir: values['cpu-prof'],
  };
  if (result.orders < result.institutions) throw new Error('--orders must be >= --institutions');
  return result;
}

const progress = (message: string) => process.stderr.write(`bench: ${message}\n`);
const megabytes = (bytes: number) => Math.round(bytes / 1024 / 1024);

/** Milliseconds of CPU per unit of work, or null when they could not be measured. */
const perUnit = (ms: number | null, count: number) =>
  ms === null ? null : round(ms / Math.max(1, count), 3);

/** Everything one run works on, named after its run id. */
interface Bench {
  opts: Options;
  runId: string;
  databaseUrl: string;
  /** The sandbox bank's database, which main.ts derives from DATABASE_URL. */
  sandboxDatabaseUrl: string;
  redisUrl: string;
  queuePrefix: string;
  shape: SeedShape;
  lessonsSeeded: number;
  /** Orders seeded so far: the next seed starts here. */
  orders: number;
  admin: Client;
  /** Throws once the run was interrupted (Ctrl-C), between phases. */
  checkpoint: () => void;
  phases: Record<string, number>;
}

async function phase<T>(bench: Bench, name: string, work: () => Promise<T>): Promise<T> {
  bench.checkpoint();
  const started = Date.now();
  try {
    return await work();
  } finally {
    bench.phases[name] = round((Date.now() - started) / 1000, 1);
  }
}

/** Seeds orders for `lessons` more lessons after those seeded so far; returns their ordinals. */
async function seedLessons(bench: Bench, lessons: number): Promise<LessonRange> {
  const orders = Math.ceil(lessons / bench.shape.lessonsPerOrder);
  await seedOrderRange(bench.databaseUrl, bench.shape, bench.orders, bench.orders + orders);
  const range = {
    base: bench.orders * bench.shape.lessonsPerOrder,
    size: orders * bench.shape.lessonsPerOrder,
  };
  bench.orders += orders;
  return range;
}

/**
 * Lessons enough for `seconds` of load at twice `rate` (per second), the margin both the
 * service's measurement and pgbench's get over the rate their warm-up or probe showed, plus a
 * few per connection.
 */
const lessonsFor = (rate: number, seconds: number, connections: number) =>
  Math.ceil(rate * 2 * seconds) + connections * 10;

/**
 * More lessons, when those left would not last the measurement and a second warm-up at the rate
 * the warm-up took them (lessonsFor): a measurement that runs out is cut short. Without a rate
 * (no warm-up) it seeds none. Waits for the background sealer to seal them, as it does for the
 * first seed, so that the measurement does not pay for it (the service then warms up again).
 * Returns how many it seeded.
 */
async function seedForMeasuring(
  bench: Bench,
  supply: ConfirmationSupply,
  rate: number,
): Promise<number> {
  const { opts } = bench;
  if (!(rate > 0)) return 0;
  const needed = lessonsFor(rate, opts.warmup + opts.duration, opts.connections);
  if (supply.left >= needed) return 0;
  progress(
    `seeding more lessons: ${supply.left} left, ${needed} needed for ${round(rate * 2, 0)}/s`,
  );
  const range = await seedLessons(bench, needed - supply.left);
  supply.add(range);
  progress(await waitForSealing(bench.admin, 60_000));
  return range.size;
}

/** A few answered confirmations again: same key → the first answer; another key → 409. */
async function replayCheck(baseUrl: string, samples: ConfirmRequest[]) {
  let failures = 0;
  for (const sample of samples) {
    const send = (key: string) =>
      fetch(`${baseUrl}/v1/lessons/${sample.lessonId}/confirm`, {
        method: 'POST',
        headers: {
          authorization: sample.authorization,
          'idempotency-key': key,
          'content-type': 'application/json',
        },
        body: JSON.stringify({ rating: 5 }),
      });
    const again = await send(sample.idempotencyKey);
    const body = (await again.json()) as { id?: string; status?: string };
    if (again.status !== 200 || body.id !== sample.lessonId || body.status !== 'confirmed') {
      failures += 1;
    }
    const other = await send(`${sample.idempotencyKey}-other`);
    const problem = (await other.json()) as { code?: string };
    if (other.status !== 409 || problem.code !== 'LESSON_ALREADY_CONFIRMED') failures += 1;
  }
  return { replayed: samples.length, failures };
}

interface ServiceFigures {
  confirmations: number;
  confirmationsPerSecond: number;
  seconds: number;
  latencyMs: Percentiles;
  errors: number;
  statuses: Record<string, number>;
  connectionErrors: number;
  timeouts: number;
  lessonsRanOut: boolean;
  /** Lessons seeded after the warm-up, so that the measurement would not run out of them. */
  lessonsAddedAfterWarmup: number;
  /** Of the API and of the queue worker. */
  peakRssMb: { api: number; worker: number };
  cpuMsPerConfirmation: number | null;
  /** PostgreSQL's CPU (the bench database's backends) per confirmation. */
  databaseCpuMsPerConfirmation: number | null;
  machineCpuBusyPercent: number;
  /** Of the warm-up, and of the one after lessons seeded after it (see seedForMeasuring). */
  warmup: { confirmations: number; errors: number };
  idempotentReplays: { replayed: number; failures: number };
  /** The service's confirmation batches while measured, from its /metrics. */
  batches: BatchFigures;
  /**
   * How late the API's event loop ran while measured (its /metrics, whose histogram restarts at
   * every scrape): a request waits that long again at each step it takes on that loop.
   */
  apiEventLoopDelayMs: { p50: number; p99: number; max: number };
}

/**
 * The API's event-loop delay since the scrape before `after`, from prom-client's gauges, less the
 * sampling interval they include.
 */
function eventLoopDelay(after: Map<string, number>): ServiceFigures['apiEventLoopDelayMs'] {
  const ms = (quantile: string) =>
    round(
      (after.get(`nodejs_eventloop_lag_${quantile}_seconds`) ?? NaN) * 1000 -
        EVENT_LOOP_SAMPLING_MS,
      1,
    );
  return { p50: ms('p50'), p99: ms('p99'), max: ms('max') };
}

/** Starts the service, warms it up, measures, checks a few replays, stops it. */
async function measureService(
  bench: Bench,
): Promise<{ figures: ServiceFigures; answered: number[]; idempotencyKey: (n: number) => string }> {
  const { opts } = bench;
  const jwtSecret = randomBytes(24).toString('hex');
  const idempotencyKey = (ordinal: number) => `bench-${bench.runId}-${ordinal}`;
  const supply = new ConfirmationSupply({
    lessons: bench.lessonsSeeded,
    lessonsPerOrder: bench.shape.lessonsPerOrder,
    jwtSecret,
    idempotencyKey,
  });
  // The first requests, kept for the replay check.
  const issued: ConfirmRequest[] = [];
  const next = (): ConfirmRequest | undefined => {
    const request = supply.next();
    if (request && issued.length < 64) issued.push(request);
    return request;
  };

  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const service = Service.start({
    port,
    sandboxBankPort: await freePort(),
    databaseUrl: bench.databaseUrl,
    queuePrefix: bench.queuePrefix,
    jwtSecret,
    cpuProfileDir: bench.opts.cpuProfileDir,
  });
  try {
    await phase(bench, 'start', async () => {
      progress(
        `service (API pid ${service.pids.api}, worker pid ${service.pids.worker}) on ${baseUrl}: starting`,
      );
      await service.ready(baseUrl);
      progress('waiting for the background sealer to catch up with the seed');
      progress(await waitForSealing(bench.admin, 60_000));
    });
    return await phase(bench, 'service', async () => {
      const load = (seconds: number) =>
        confirmLoad({ baseUrl, connections: opts.connections, seconds, next });
      progress(`warm-up: ${opts.connections} connections, ${opts.warmup} s`);
      const leftBefore = supply.left;
      const warmup = opts.warmup > 0 ? await load(opts.warmup) : undefined;
      const warmups = warmup ? [warmup] : [];
      bench.checkpoint();
      // Every request takes a lesson, answered or not.
      const rate = warmup && warmup.seconds > 0 ? (leftBefore - supply.left) / warmup.seconds : 0;
      const added = await seedForMeasuring(bench, supply, rate);
      if (added > 0) {
        // The seeding analysed the tables (new plans) and left the service idle meanwhile.
        progress(`warm-up again after seeding: ${opts.warmup} s`);
        warmups.push(await load(opts.warmup));
        bench.checkpoint();
      }
      await checkpointBeforeMeasuring(bench.admin, progress);
      progress(`measuring: ${opts.connections} connections, ${opts.duration} s`);
      const {
        result: measured,
        serviceCpuMs,
        databaseCpuMs,
        machineCpuBusyPercent,
        batches,
        metrics,
      } = await measureLoad(service, bench.admin, baseUrl, () => load(opts.duration));
      const answered = [...warmups.flatMap((run) => run.confirmed), ...measured.confirmed];
      const answeredSet = new Set(answered);
      const replays = await replayCheck(
        baseUrl,
        issued.filter((request) => answeredSet.has(request.ordinal)).slice(0, 10),
      );
      const confirmations = measured.confirmed.length;
      const peakRss = service.peakRssBytes();
      progress(`${confirmations} confirmations in ${measured.seconds} s; stopping the service`);
      const figures: ServiceFigures = {
        confirmations,
        confirmationsPerSecond: round(confirmations / measured.seconds, 1),
        seconds: measured.seconds,
        latencyMs: measured.latencyMs,
        errors: measured.errors,
        statuses: measured.statuses,
        connectionErrors: measured.connectionErrors,
        timeouts: measured.timeouts,
        lessonsRanOut: measured.exhausted,
        lessonsAddedAfterWarmup: added,
        peakRssMb: { api: megabytes(peakRss.api), worker: megabytes(peakRss.worker) },
        cpuMsPerConfirmation: perUnit(serviceCpuMs, confirmations),
        databaseCpuMsPerConfirmation: perUnit(databaseCpuMs, confirmations),
        machineCpuBusyPercent,
        warmup: {
          confirmations: warmups.reduce((sum, run) => sum + run.confirmed.length, 0),
          errors: warmups.reduce((sum, run) => sum + run.errors, 0),
        },
        idempotentReplays: replays,
        batches,
        apiEventLoopDelayMs: eventLoopDelay(metrics),
      };
      return { figures, answered, idempotencyKey };
    });
  } finally {
    await service.stop();
  }
}

interface LimitFigures {
  tool: string;
  transactions: number;
  tps: number;
  latencyMs: Percentiles;
  failed: number;
  aborted: boolean;
  databaseCpuMsPerTransaction: number | null;
  machineCpuBusyPercent: number;
}

/**
 * pgbench on lessons of its own, seeded after the service has stopped: a short probe (which also
 * warms it up) says how many the timed run can use up.
 */
async function measureLimit(bench: Bench): Promise<LimitFigures> {
  const { opts } = bench;
  const pgbench = {
    databaseUrl: bench.databaseUrl,
    clients: opts.connections,
    threads: Math.min(opts.connections, cpus().length),
    lessonsPerOrder: bench.shape.lessonsPerOrder,
    protocol: opts.pgbenchProtocol,
    binary: opts.pgbench,
  };
  // Fewer than 50 each, started cold, gave half the rate (so too few lessons) with --warmup 0.
  const perClient = Math.max(50, Math.ceil((opts.warmup * 200) / opts.connections));
  progress(`pgbench: probe and warm-up (${perClient} transactions per client)`);
  const probe = await runPgbench({
    ...pgbench,
    ...(await seedLessons(bench, perClient * opts.connections)),
    transactionsPerClient: perClient,
  });
  if (probe.aborted) throw new Error(`the pgbench probe failed:\n${probe.output}`);
  const needed = lessonsFor(probe.tps, opts.duration, opts.connections);
  progress(`pgbench: seeding ${needed} lessons, enough for ${round(probe.tps * 2, 0)} tps`);
  const range = await seedLessons(bench, needed);
  bench.checkpoint();
  await checkpointBeforeMeasuring(bench.admin, progress);
  progress(`pgbench: measuring: ${opts.connections} clients, ${opts.duration} s`);
  const databaseCpu = new DatabaseCpu(bench.admin);
  const machineBefore = machineCpu();
  databaseCpu.start();
  const limit = await runPgbench({ ...pgbench, ...range, seconds: opts.duration });
  const databaseCpuMs = await databaseCpu.stop();
  const machineAfter = machineCpu();
  if (limit.aborted) progress(`pgbench did not run to the end:\n${limit.output}`);
  return {
    tool:
      `pgbench -M ${opts.pgbenchProtocol} -c ${opts.connections} -j ${pgbench.threads} ` +
      `-T ${opts.duration}`,
    transactions: limit.transactions,
    tps: limit.tps,
    latencyMs: limit.latencyMs,
    failed: limit.failed,
    aborted: limit.aborted,
    databaseCpuMsPerTransaction: perUnit(databaseCpuMs, limit.transactions),
    machineCpuBusyPercent: busyPercent(machineBefore, machineAfter),
  };
}

interface Report {
  machine: { cpus: number; node: string; postgres: string };
  config: Options & { lessonsPerOrder: number; lessonsSeeded: number };
  service: ServiceFigures;
  limit: LimitFigures;
  /** Confirmations per second over pgbench's transactions per second. */
  ratio: number;
  checks: LedgerChecks;
  phasesSeconds: Record<string, number>;
}

async function cleanUp(bench: Bench): Promise<void> {
  await bench.admin.end().catch(() => undefined);
  await dropQueueKeys(bench.redisUrl, bench.queuePrefix).catch((error: unknown) =>
    progress(`could not drop the queues ${bench.queuePrefix}: ${String(error)}`),
  );
  if (bench.opts.keepDatabase) {
    progress(`kept the database: ${bench.databaseUrl}`);
    return;
  }
  for (const database of [bench.databaseUrl, bench.sandboxDatabaseUrl]) {
    await dropDatabase(database).catch((error: unknown) =>
      progress(`could not drop ${database}: ${String(error)}`),
    );
  }
}

async function main(opts: Options): Promise<Report> {
  const started = Date.now();
  const { config } = loadConfig({ ...process.env, LOG_LEVEL: 'silent' });
  const runId = `${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  const database = new URL(config.databaseUrl);
  database.pathname = `/escrow_bench_${runId}`;
  const sandbox = new URL(database);
  sandbox.pathname = `${sandbox.pathname}_sandbox_bank`;
  let interrupted = false;
  const onSignal = () => {
    interrupted = true;
    progress('interrupted: stopping after this phase, then cleaning up');
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const shape = {
    institutions: opts.institutions,
    lessonsPerOrder: Math.ceil(opts.lessons / opts.orders),
  };
  const bench: Bench = {
    opts,
    runId,
    databaseUrl: database.toString(),
    sandboxDatabaseUrl: sandbox.toString(),
    redisUrl: config.redisUrl,
    queuePrefix: `escrow_bench_${runId}`,
    shape,
    lessonsSeeded: opts.orders * shape.lessonsPerOrder,
    orders: 0,
    admin: new Client({ connectionString: database.toString(), application_name: 'bench' }),
    checkpoint: () => {
      if (interrupted) throw new Error('interrupted');
    },
    phases: {},
  };

  try {
    if (opts.build) {
      await phase(bench, 'build', async () => {
        progress('building (nest build)');
        await run('npx', ['nest', 'build']);
      });
    }
    const postgres = await phase(bench, 'seed', async () => {
      progress(`database ${database.pathname.slice(1)}: migrating`);
      await prepareDatabase({ databaseUrl: bench.databaseUrl });
      await bench.admin.connect();
      progress(
        `seeding ${opts.institutions} institutions, ${opts.orders} paid orders, ` +
          `${bench.lessonsSeeded} lessons awaiting confirmation`,
      );
      await seedInstitutions(bench.admin, shape);
      await seedLessons(bench, bench.lessonsSeeded);
      const { rows } = await bench.admin.query<{ server_version: string }>('SHOW server_version');
      return rows[0].server_version;
    });
    const { figures: service, answered, idempotencyKey } = await measureService(bench);
    const limit = await phase(bench, 'pgbench', () => measureLimit(bench));
    const checks = await phase(bench, 'checks', () => {
      progress('checking the ledger');
      return checkLedger(bench.databaseUrl, {
        ordinals: answered,
        idempotencyKey,
        lessonsPerOrder: shape.lessonsPerOrder,
      });
    });
    bench.phases.total = round((Date.now() - started) / 1000, 1);
    return {
      machine: { cpus: cpus().length, node: process.version, postgres },
      config: {
        ...opts,
        lessonsPerOrder: shape.lessonsPerOrder,
        lessonsSeeded: bench.lessonsSeeded,
      },
      service,
      limit,
      ratio: round(service.confirmationsPerSecond / limit.tps, 2),
      checks,
      phasesSeconds: bench.phases,
    };
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    await cleanUp(bench);
  }
}

function text(report: Report): string {
  const { service, limit, checks, config } = report;
  const ms = (l: Percentiles) =>
    `p50 ${l.p50} ms  p97.5 ${l.p97_5} ms  p99 ${l.p99} ms  max ${l.max} ms`;
  const refused = Object.entries(service.statuses)
    .filter(([status]) => status !== '200')
    .map(([status, count]) => `${count}×${status}`)
    .join(', ');
  const replays = service.idempotentReplays;
  const added = service.lessonsAddedAfterWarmup
    ? ` (+${service.lessonsAddedAfterWarmup} after the warm-up)`
    : '';
  return [
    `POST /v1/lessons/:id/confirm on ${report.machine.cpus} cores (Node ${report.machine.node}, ` +
      `PostgreSQL ${report.machine.postgres})`,
    `  seeded ${config.institutions} institutions, ${config.orders} orders, ` +
      `${config.lessonsSeeded} lessons${added}; ${config.connections} connections, ` +
      `${config.duration} s after ${config.warmup} s warm-up`,
    `service   ${service.confirmationsPerSecond} confirmations/s (${service.confirmations} in ` +
      `${service.seconds} s)  ${ms(service.latencyMs)}`,
    `          errors ${service.errors}${refused ? ` (${refused})` : ''}` +
      `${service.connectionErrors ? `, ${service.connectionErrors} connection errors` : ''}` +
      `${service.timeouts ? `, ${service.timeouts} timeouts` : ''}` +
      `${service.lessonsRanOut ? ', LESSONS RAN OUT (seed more with --lessons)' : ''}` +
      `  peak RSS API ${service.peakRssMb.api} MB, worker ${service.peakRssMb.worker} MB` +
      `  idempotent replays ${replays.replayed - replays.failures}/${replays.replayed} ok`,
    `          CPU per confirmation: service (API and worker) ${service.cpuMsPerConfirmation ?? '?'} ms, ` +
      `PostgreSQL ${service.databaseCpuMsPerConfirmation ?? '?'} ms; ` +
      `machine busy ${service.machineCpuBusyPercent}%`,
    `          batches ${service.batches.count}, ${service.batches.meanSize} confirmations each; ` +
      `left awaiting by their statement and run again one by one ${service.batches.conflicts}, ` +
      `batches run again one by one ${service.batches.fallbacks}`,
    `          in the API, mean: a confirmation ${service.batches.meanMs.request ?? '-'} ms, of which ` +
      `waiting for a batch ${service.batches.meanMs.wait ?? '-'} ms, its statement and commit ` +
      `${service.batches.meanMs.write ?? '-'} ms; a batch's read of the lessons it did not ` +
      `confirm, when it had any, ${service.batches.meanMs.read ?? '-'} ms`,
    `          API event loop late by p50 ${service.apiEventLoopDelayMs.p50} ms, ` +
      `p99 ${service.apiEventLoopDelayMs.p99} ms, max ${service.apiEventLoopDelayMs.max} ms`,
    `limit     ${limit.tps} transactions/s (${limit.transactions}, ${limit.tool})  ` +
      `${ms(limit.latencyMs)}  failed ${limit.failed}${limit.aborted ? '  ABORTED' : ''}`,
    `          CPU per transaction: PostgreSQL ${limit.databaseCpuMsPerTransaction ?? '?'} ms; ` +
      `machine busy ${limit.machineCpuBusyPercent}%`,
    `ratio     service/limit ${report.ratio}`,
    `checks    ${checks.ok ? 'ok' : 'FAILED'}: ${checks.lessonsConfirmed} lessons confirmed, ` +
      `${checks.releases} releases; answered but not durable ${checks.answeredNotDurable}, ` +
      `not released exactly once ${checks.confirmedNotReleasedOnce}, stray releases ` +
      `${checks.strayReleases}, unbalanced transactions ${checks.unbalancedTransactions}, ` +
      `accounts off their postings ${checks.accountsOffTheirPostings}, trial balance ` +
      `${checks.trialBalanceFen.posted}/${checks.trialBalanceFen.pending} fen, fees vs ledger ` +
      `${checks.feesVersusLedgerFen.released}/${checks.feesVersusLedgerFen.held} fen`,
    `phases    ${Object.entries(report.phasesSeconds)
      .map(([name, s]) => `${name} ${s} s`)
      .join(', ')}`,
  ].join('\n');
}

async function benchFromCommandLine(): Promise<void> {
  const opts = options(process.argv.slice(2));
  const report = await main(opts);
  process.stdout.write(opts.json ? `${JSON.stringify(report, null, 2)}\n` : `${text(report)}\n`);
  const failed =
    !report.checks.ok || report.limit.aborted || report.service.idempotentReplays.failures > 0;
  process.exit(failed ? 2 : 0);
}

if (require.main === module) {
  benchFromCommandLine().catch((error: unknown) => {
    const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
    process.stderr.write(`bench: ${message}\n`);
    process.exit(1);
  });
}
