/**
 * Benchmark of lesson confirmation beside its raw-SQL limit: `npm run bench -- [--quick] [--json]
 * [--duration 30] [--warmup 5] [--connections 32] [--lessons 60000] [--orders 2000]
 * [--institutions 20] [--pgbench-protocol prepared] [--skip-build] [--keep-database]`.
 *
 * On loopback only: creates a fresh database, seeds it in SQL, starts the compiled service (API and
 * workers), drives POST /v1/lessons/:id/confirm with autocannon, stops the service, runs pgbench
 * with the same statements at the same concurrency and time, checks that every confirmation was
 * durable and released once and that the books balance, prints the figures, drops the database.
 */
import { createHash, randomBytes } from 'node:crypto';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import Redis from 'ioredis';
import { Client } from 'pg';
import { signToken } from '../auth/token.service';
import { loadConfig } from '../config/config';
import { dropDatabase } from '../database/ensure-database';
import { prepareDatabase } from '../database/migrate';
import { LedgerChecks, checkLedger } from './bench/checks';
import { ConfirmRequest, LoadResult, confirmLoad } from './bench/load';
import { PgbenchProtocol, PgbenchResult, runPgbench } from './bench/pgbench';
import { parentIdOf, seedInstitutions, seedOrderRange, SeedShape } from './bench/seed';
import { DatabaseCpu, Service, freePort, machineCpu, run } from './bench/service';

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
}

const QUICK = {
  institutions: 4,
  orders: 100,
  lessons: 3_000,
  connections: 8,
  duration: 5,
  warmup: 2,
};
const DEFAULTS = {
  institutions: 20,
  orders: 2_000,
  lessons: 60_000,
  connections: 32,
  duration: 30,
  warmup: 5,
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
  if (!['simple', 'extended', 'prepared'].includes(protocol)) {
    throw new Error('--pgbench-protocol must be simple, extended or prepared');
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
  };
  if (result.orders < result.institutions) throw new Error('--orders must be >= --institutions');
  return result;
}

const progress = (message: string) => process.stderr.write(`bench: ${message}\n`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const seconds = (since: number) => Math.round((Date.now() - since) / 100) / 10;

/** The uuid PostgreSQL makes of md5(text)::uuid, as seed.ts names lessons. */
function lessonId(ordinal: number): string {
  const hex = createHash('md5').update(`bench-lesson:${ordinal}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function shuffled(count: number): Int32Array {
  const ordinals = Int32Array.from({ length: count }, (_, i) => i);
  for (let i = count - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [ordinals[i], ordinals[j]] = [ordinals[j], ordinals[i]];
  }
  return ordinals;
}

/** Waits (bounded) until the background sealer has caught up with the seeded transactions. */
async function waitForSealing(databaseUrl: string, timeoutMs: number): Promise<string> {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    return await sealingCaughtUp(client, timeoutMs);
  } catch (error) {
    return `could not follow the sealer (${String(error)}), went on`;
  } finally {
    await client.end();
  }
}

async function sealingCaughtUp(client: Client, timeoutMs: number): Promise<string> {
  const [{ present }] = (
    await client.query<{ present: boolean }>(
      `SELECT to_regclass('ledger_seal_blocks') IS NOT NULL AS present`,
    )
  ).rows;
  if (!present) return 'no sealing in this build';
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [{ total, sealed }] = (
      await client.query<{ total: string; sealed: string }>(
        `SELECT (SELECT count(*) FROM ledger_transactions) AS total,
                (SELECT coalesce(sum(transaction_count), 0) FROM ledger_seal_blocks) AS sealed`,
      )
    ).rows;
    if (Number(sealed) >= Number(total)) return `sealed ${sealed} seeded transactions`;
    if (Date.now() > deadline) return `sealing still behind (${sealed}/${total}), went on`;
    await sleep(500);
  }
}

/** A few answered confirmations again: same key → the first answer; new key → 409. */
async function replayCheck(
  baseUrl: string,
  samples: ConfirmRequest[],
): Promise<{ replayed: number; failures: number }> {
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

async function dropQueues(redisUrl: string, prefix: string): Promise<void> {
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      if (keys.length) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

interface Report {
  machine: { cpus: number; node: string; postgres: string };
  config: Options & { lessonsPerOrder: number; lessonsSeeded: number };
  service: {
    confirmations: number;
    confirmationsPerSecond: number;
    seconds: number;
    latencyMs: LoadResult['latencyMs'];
    errors: number;
    statuses: Record<string, number>;
    connectionErrors: number;
    timeouts: number;
    lessonsRanOut: boolean;
    peakRssMb: number;
    cpuMsPerConfirmation: number;
    /** PostgreSQL's CPU (backends of the bench database) per confirmation. */
    databaseCpuMsPerConfirmation: number | null;
    machineCpuBusyPercent: number;
    warmup: { confirmations: number; errors: number };
    idempotentReplays: { replayed: number; failures: number };
  };
  limit: {
    tool: string;
    transactions: number;
    tps: number;
    latencyMs: PgbenchResult['latencyMs'];
    failed: number;
    aborted: boolean;
    databaseCpuMsPerTransaction: number | null;
    machineCpuBusyPercent: number;
  };
  ratio: number;
  checks: LedgerChecks;
  phasesSeconds: Record<string, number>;
}

async function main(): Promise<Report> {
  const opts = options(process.argv.slice(2));
  const started = Date.now();
  const phases: Record<string, number> = {};
  const { config } = loadConfig({ ...process.env, LOG_LEVEL: 'silent' });
  const runId = `${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  const url = new URL(config.databaseUrl);
  url.pathname = `/escrow_bench_${runId}`;
  const databaseUrl = url.toString();
  const sandboxUrl = new URL(databaseUrl);
  sandboxUrl.pathname = `${sandboxUrl.pathname}_sandbox_bank`;
  const queuePrefix = `escrow_bench_${runId}`;
  const shape: SeedShape = {
    institutions: opts.institutions,
    lessonsPerOrder: Math.ceil(opts.lessons / opts.orders),
  };
  const lessonsSeeded = opts.orders * shape.lessonsPerOrder;
  let service: Service | undefined;
  let interrupted = false;
  const onSignal = () => {
    interrupted = true;
    progress('interrupted: cleaning up');
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const check = () => {
    if (interrupted) throw new Error('interrupted');
  };

  try {
    let t = Date.now();
    if (opts.build) {
      progress('building (nest build)');
      await run('npx', ['nest', 'build']);
      phases.build = seconds(t);
    }
    check();

    t = Date.now();
    progress(`database ${url.pathname.slice(1)}: migrating`);
    await prepareDatabase({ databaseUrl });
    const admin = new Client({ connectionString: databaseUrl, application_name: 'bench' });
    await admin.connect();
    const postgres = (await admin.query<{ server_version: string }>('SHOW server_version')).rows[0]
      .server_version;
    progress(
      `seeding ${opts.institutions} institutions, ${opts.orders} paid orders, ` +
        `${lessonsSeeded} lessons awaiting confirmation`,
    );
    await seedInstitutions(admin, shape);
    await seedOrderRange(databaseUrl, shape, 0, opts.orders);
    await admin.query('VACUUM ANALYZE');
    phases.seed = seconds(t);
    check();

    // Tokens signed up front, so that the load generator spends nothing on them.
    const jwtSecret = randomBytes(24).toString('hex');
    const tokens = Array.from(
      { length: opts.orders },
      (_, order) =>
        `Bearer ${signToken({ sub: parentIdOf(order), role: 'parent' }, jwtSecret, { expiresInSeconds: 3_600 })}`,
    );
    const pool = shuffled(lessonsSeeded);
    let cursor = 0;
    const issued: ConfirmRequest[] = [];
    const next = (): ConfirmRequest | undefined => {
      if (cursor >= pool.length) return undefined;
      const ordinal = pool[cursor++];
      const request = {
        ordinal,
        lessonId: lessonId(ordinal),
        authorization: tokens[Math.floor(ordinal / shape.lessonsPerOrder)],
        idempotencyKey: `bench-${runId}-${ordinal}`,
      };
      if (issued.length < 64) issued.push(request);
      return request;
    };

    t = Date.now();
    const port = await freePort();
    const baseUrl = `http://127.0.0.1:${port}`;
    service = Service.start({
      port,
      sandboxBankPort: await freePort(),
      databaseUrl,
      queuePrefix,
      jwtSecret,
    });
    progress(`service pid ${service.pid} on ${baseUrl}: starting`);
    await service.ready(baseUrl);
    phases.start = seconds(t);
    t = Date.now();
    progress('waiting for the background sealer to catch up with the seed');
    progress(await waitForSealing(databaseUrl, 60_000));
    phases.sealing = seconds(t);
    check();

    let warmup: LoadResult | undefined;
    if (opts.warmup > 0) {
      progress(`warm-up: ${opts.connections} connections, ${opts.warmup} s`);
      warmup = await confirmLoad({
        baseUrl,
        connections: opts.connections,
        seconds: opts.warmup,
        next,
      });
    }
    check();
    progress(`measuring: ${opts.connections} connections, ${opts.duration} s`);
    const databaseCpu = new DatabaseCpu(admin);
    databaseCpu.start();
    const cpuBefore = service.cpuMs();
    const machineBefore = machineCpu();
    const load = await confirmLoad({
      baseUrl,
      connections: opts.connections,
      seconds: opts.duration,
      next,
    });
    const machineAfter = machineCpu();
    const serviceCpuMs = service.cpuMs() - cpuBefore;
    const serviceDatabaseCpuMs = await databaseCpu.stop();
    const answered = [...(warmup?.confirmed ?? []), ...load.confirmed];
    const answeredSet = new Set(answered);
    const replays = await replayCheck(
      baseUrl,
      issued.filter((request) => answeredSet.has(request.ordinal)).slice(0, 10),
    );
    const peakRssBytes = service.peakRssBytes();
    progress(`${load.confirmed.length} confirmations in ${load.seconds} s; stopping the service`);
    await service.stop();
    service = undefined;
    phases.service = seconds(t);
    check();

    // pgbench gets lessons of its own, seeded now: a short probe (which also warms it up) says
    // how many the timed run can use.
    t = Date.now();
    const pgbenchRun = {
      databaseUrl,
      clients: opts.connections,
      threads: Math.min(opts.connections, cpus().length),
      lessonsPerOrder: shape.lessonsPerOrder,
      protocol: opts.pgbenchProtocol,
      binary: opts.pgbench,
    };
    let nextOrder = opts.orders;
    const seedForPgbench = async (lessons: number) => {
      const orders = Math.ceil(lessons / shape.lessonsPerOrder);
      await seedOrderRange(databaseUrl, shape, nextOrder, nextOrder + orders);
      await admin.query('VACUUM ANALYZE');
      const range = {
        base: nextOrder * shape.lessonsPerOrder,
        size: orders * shape.lessonsPerOrder,
      };
      nextOrder += orders;
      return range;
    };
    const probePerClient = Math.max(20, Math.ceil((opts.warmup * 200) / opts.connections));
    progress(`pgbench: probe and warm-up (${probePerClient} transactions per client)`);
    const probe = await runPgbench({
      ...pgbenchRun,
      ...(await seedForPgbench(probePerClient * opts.connections)),
      transactionsPerClient: probePerClient,
    });
    if (probe.aborted) throw new Error(`pgbench probe failed:\n${probe.output}`);
    const needed = Math.ceil(probe.tps * opts.duration * 2) + opts.connections * 10;
    progress(
      `pgbench: seeding ${needed} more lessons for ${opts.duration} s at up to ${probe.tps * 2} tps`,
    );
    const range = await seedForPgbench(needed);
    check();
    progress(`pgbench: measuring: ${opts.connections} clients, ${opts.duration} s`);
    const pgMachineBefore = machineCpu();
    databaseCpu.start();
    const limit = await runPgbench({ ...pgbenchRun, ...range, seconds: opts.duration });
    const pgbenchDatabaseCpuMs = await databaseCpu.stop();
    const pgMachineAfter = machineCpu();
    phases.pgbench = seconds(t);
    await admin.end();

    t = Date.now();
    progress('checking the ledger');
    const checks = await checkLedger(databaseUrl, {
      ordinals: answered,
      idempotencyKey: (ordinal) => `bench-${runId}-${ordinal}`,
      lessonsPerOrder: shape.lessonsPerOrder,
    });
    phases.checks = seconds(t);

    const perUnit = (ms: number | null, count: number) =>
      ms === null ? null : Math.round((ms / Math.max(1, count)) * 1000) / 1000;
    const busy = (before: { busy: number; total: number }, after: typeof before) =>
      Math.round(((after.busy - before.busy) * 100) / Math.max(1, after.total - before.total));
    const confirmationsPerSecond = Math.round((load.confirmed.length / load.seconds) * 10) / 10;
    phases.total = seconds(started);
    return {
      machine: { cpus: cpus().length, node: process.version, postgres },
      config: { ...opts, lessonsPerOrder: shape.lessonsPerOrder, lessonsSeeded },
      service: {
        confirmations: load.confirmed.length,
        confirmationsPerSecond,
        seconds: load.seconds,
        latencyMs: load.latencyMs,
        errors: load.errors,
        statuses: load.statuses,
        connectionErrors: load.connectionErrors,
        timeouts: load.timeouts,
        lessonsRanOut: load.exhausted,
        peakRssMb: Math.round(peakRssBytes / 1024 / 1024),
        cpuMsPerConfirmation: perUnit(serviceCpuMs, load.confirmed.length) ?? 0,
        databaseCpuMsPerConfirmation: perUnit(serviceDatabaseCpuMs, load.confirmed.length),
        machineCpuBusyPercent: busy(machineBefore, machineAfter),
        warmup: { confirmations: warmup?.confirmed.length ?? 0, errors: warmup?.errors ?? 0 },
        idempotentReplays: replays,
      },
      limit: {
        tool: `pgbench -M ${opts.pgbenchProtocol} -c ${opts.connections} -j ${pgbenchRun.threads} -T ${opts.duration}`,
        transactions: limit.transactions,
        tps: limit.tps,
        latencyMs: limit.latencyMs,
        failed: limit.failed,
        aborted: limit.aborted,
        databaseCpuMsPerTransaction: perUnit(pgbenchDatabaseCpuMs, limit.transactions),
        machineCpuBusyPercent: busy(pgMachineBefore, pgMachineAfter),
      },
      ratio: Math.round((confirmationsPerSecond / limit.tps) * 100) / 100,
      checks,
      phasesSeconds: phases,
    };
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    if (service) await service.stop();
    await dropQueues(config.redisUrl, queuePrefix).catch((error: unknown) =>
      progress(`could not drop the queues ${queuePrefix}: ${String(error)}`),
    );
    if (opts.keepDatabase) {
      progress(`kept the database: ${databaseUrl}`);
    } else {
      for (const database of [databaseUrl, sandboxUrl.toString()]) {
        await dropDatabase(database).catch((error: unknown) =>
          progress(`could not drop ${database}: ${String(error)}`),
        );
      }
    }
  }
}

function text(report: Report): string {
  const { service, limit, checks, config } = report;
  const ms = (l: { p50: number; p97_5: number; p99: number; max: number }) =>
    `p50 ${l.p50} ms  p97.5 ${l.p97_5} ms  p99 ${l.p99} ms  max ${l.max} ms`;
  const statuses = Object.entries(service.statuses)
    .filter(([status]) => status !== '200')
    .map(([status, count]) => `${count}×${status}`)
    .join(', ');
  return [
    `POST /v1/lessons/:id/confirm on ${report.machine.cpus} cores (Node ${report.machine.node}, ` +
      `PostgreSQL ${report.machine.postgres})`,
    `  seeded ${config.institutions} institutions, ${config.orders} orders, ` +
      `${config.lessonsSeeded} lessons; ${config.connections} connections, ` +
      `${config.duration} s after ${config.warmup} s warm-up`,
    `service   ${service.confirmationsPerSecond} confirmations/s (${service.confirmations} in ` +
      `${service.seconds} s)  ${ms(service.latencyMs)}`,
    `          errors ${service.errors}${statuses ? ` (${statuses})` : ''}` +
      `${service.connectionErrors ? `, ${service.connectionErrors} connection errors` : ''}` +
      `${service.timeouts ? `, ${service.timeouts} timeouts` : ''}` +
      `${service.lessonsRanOut ? ', LESSONS RAN OUT (seed more with --lessons)' : ''}` +
      `  peak RSS ${service.peakRssMb} MB`,
    `          CPU per confirmation: service ${service.cpuMsPerConfirmation} ms, PostgreSQL ` +
      `${service.databaseCpuMsPerConfirmation ?? '?'} ms; machine busy ${service.machineCpuBusyPercent}%`,
    `          idempotent replays ${service.idempotentReplays.replayed - service.idempotentReplays.failures}` +
      `/${service.idempotentReplays.replayed} ok`,
    `limit     ${limit.tps} transactions/s (${limit.transactions}, ${limit.tool})  ${ms(limit.latencyMs)}` +
      `  failed ${limit.failed}${limit.aborted ? '  ABORTED' : ''}`,
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
      .map(([phase, s]) => `${phase} ${s} s`)
      .join(', ')}`,
  ].join('\n');
}

if (require.main === module) {
  const json = process.argv.includes('--json');
  main()
    .then((report) => {
      process.stdout.write(json ? `${JSON.stringify(report, null, 2)}\n` : `${text(report)}\n`);
      const failed =
        !report.checks.ok || report.limit.aborted || report.service.idempotentReplays.failures > 0;
      process.exit(failed ? 2 : 0);
    })
    .catch((error: unknown) => {
      process.stderr.write(
        `bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
      );
      process.exit(1);
    });
}
