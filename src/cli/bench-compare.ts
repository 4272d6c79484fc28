/**
 * Two builds of the service under the same confirmation load, taking turns: `npm run
 * bench:compare -- --baseline <checkout> [--slices 8] [--slice 12] [--warmup 5]
 * [--connections 32] [--institutions 20] [--lessons-per-order 30] [--lessons N] [--skip-build]
 * [--json]`.
 *
 * On a shared machine the host's speed swings by half within minutes, so two `npm run bench`
 * runs compare the moments they ran in as much as the code. Here both builds run at once, each
 * its own service (API and worker), database, queues and ports, seeded alike, and autocannon
 * drives POST /v1/lessons/:id/confirm at one, then the other, in short slices (baseline,
 * candidate, candidate, baseline, …), so that both meet the same host. The candidate is this
 * checkout; the baseline another checkout of the project (a `git worktree` of an earlier commit,
 * with its node_modules), built here unless --skip-build. Each database is migrated by its own
 * build and seeded by this one's bench seed. Prints each build's confirmations per second, pooled
 * latency percentiles, CPU per confirmation, the candidate/baseline ratios and every slice, then
 * checks both ledgers as `npm run bench` does. Exits 0, 2 when a check failed, 1 when it could
 * not run.
 */
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Client } from 'pg';
import { freePort } from '../common/net/free-port';
import { loadConfig } from '../config/config';
import { dropDatabase } from '../database/ensure-database';
import { dropQueueKeys } from '../queues/drop-queue-keys';
import { positive, round } from './bench/args';
import { LedgerChecks, checkLedger } from './bench/checks';
import {
  ConfirmRequest,
  ConfirmationSupply,
  Percentiles,
  confirmLoad,
  percentiles,
} from './bench/load';
import { seedInstitutions, seedOrderRange } from './bench/seed';
import {
  BatchFigures,
  REPO_ROOT,
  Service,
  batchFigures,
  checkpointBeforeMeasuring,
  measureLoad,
  run,
  waitForSealing,
} from './bench/service';

interface Options {
  baseline: string;
  slices: number;
  slice: number;
  warmup: number;
  connections: number;
  institutions: number;
  lessonsPerOrder: number;
  /** Lessons seeded for each build. */
  lessons: number;
  build: boolean;
  json: boolean;
}

/** Lessons a build may confirm per second at most, for seeding enough of them by default. */
const SEEDED_RATE = 2_000;

function options(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      baseline: { type: 'string' },
      slices: { type: 'string' },
      slice: { type: 'string' },
      warmup: { type: 'string' },
      connections: { type: 'string' },
      institutions: { type: 'string' },
      'lessons-per-order': { type: 'string' },
      lessons: { type: 'string' },
      'skip-build': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
  });
  if (!values.baseline) throw new Error('--baseline <checkout> is required');
  const slices = positive(values.slices, 8, '--slices');
  const slice = positive(values.slice, 12, '--slice');
  const warmup = positive(values.warmup, 5, '--warmup');
  return {
    baseline: resolve(values.baseline),
    slices,
    slice,
    warmup,
    connections: positive(values.connections, 32, '--connections'),
    institutions: positive(values.institutions, 20, '--institutions'),
    lessonsPerOrder: positive(values['lessons-per-order'], 30, '--lessons-per-order'),
    lessons: positive(values.lessons, SEEDED_RATE * (warmup + slices * slice), '--lessons'),
    build: !values['skip-build'],
    json: values.json,
  };
}

const progress = (message: string) => process.stderr.write(`bench:compare: ${message}\n`);

/** One slice of load on one build. */
interface Slice {
  confirmationsPerSecond: number;
  latencyMs: Percentiles;
  errors: number;
  lessonsRanOut: boolean;
}

/** One build under test and what its slices measured. */
interface Build {
  name: 'baseline' | 'candidate';
  root: string;
  databaseUrl: string;
  queuePrefix: string;
  port: number;
  service?: Service;
  /** On the build's database, from its seeding to the end. */
  admin: Client;
  /** The next confirmation to send (each seeded lesson once, in random order). */
  next: () => ConfirmRequest | undefined;
  /** Lessons answered as confirmed: while warming up, and while measured. */
  warmedUp: number[];
  answered: number[];
  latenciesMs: number[];
  seconds: number;
  errors: number;
  serviceCpuMs: number;
  databaseCpuMs: number;
  /** The service's /metrics before its first slice and after its last (it idles in between). */
  metricsAtStart: Map<string, number>;
  metricsAtEnd: Map<string, number>;
  slices: Slice[];
}

interface BuildFigures {
  root: string;
  confirmationsPerSecond: number;
  latencyMs: Percentiles;
  errors: number;
  serviceCpuMsPerConfirmation: number;
  databaseCpuMsPerConfirmation: number;
  meanBatch: number;
  meanMs: BatchFigures['meanMs'];
  slices: Slice[];
  checks: LedgerChecks;
}

interface Report {
  config: Options;
  baseline: BuildFigures;
  candidate: BuildFigures;
  /** Candidate over baseline. */
  ratios: {
    confirmationsPerSecond: number;
    p50: number;
    p99: number;
    serviceCpu: number;
    databaseCpu: number;
  };
  /** Slice pairs (same round) in which the candidate confirmed more per second. */
  slicesCandidateFaster: number;
}

/** Migrates the build's database with the build's own migrations, then seeds it. */
async function prepare(build: Build, opts: Options): Promise<void> {
  const migrate = (await import(
    resolve(build.root, 'dist', 'src', 'database', 'migrate.js')
  )) as typeof import('../database/migrate');
  await migrate.prepareDatabase({ databaseUrl: build.databaseUrl });
  const shape = { institutions: opts.institutions, lessonsPerOrder: opts.lessonsPerOrder };
  const orders = Math.ceil(opts.lessons / opts.lessonsPerOrder);
  await build.admin.connect();
  await seedInstitutions(build.admin, shape);
  await seedOrderRange(build.databaseUrl, shape, 0, orders);
}

function load(build: Build, opts: Options, seconds: number) {
  return confirmLoad({
    baseUrl: `http://127.0.0.1:${build.port}`,
    connections: opts.connections,
    seconds,
    next: build.next,
  });
}

async function measureSlice(build: Build, work: () => ReturnType<typeof load>): Promise<void> {
  const { result, serviceCpuMs, databaseCpuMs, metricsBefore, metrics } = await measureLoad(
    build.service!,
    build.admin,
    `http://127.0.0.1:${build.port}`,
    work,
  );
  // concat, not push(...): a long slice answers more values than a call takes arguments.
  build.answered = build.answered.concat(result.confirmed);
  build.latenciesMs = build.latenciesMs.concat(result.latenciesMs);
  build.seconds += result.seconds;
  build.errors += result.errors;
  build.serviceCpuMs += serviceCpuMs;
  build.databaseCpuMs += databaseCpuMs ?? NaN;
  if (build.slices.length === 0) build.metricsAtStart = metricsBefore;
  build.metricsAtEnd = metrics;
  build.slices.push({
    confirmationsPerSecond: round(result.confirmed.length / result.seconds, 1),
    latencyMs: result.latencyMs,
    errors: result.errors,
    lessonsRanOut: result.exhausted,
  });
}

function figuresOf(build: Build, checks: LedgerChecks): BuildFigures {
  const confirmations = build.answered.length;
  const perConfirmation = (ms: number) => round(ms / Math.max(1, confirmations), 3);
  const batches = batchFigures(build.metricsAtStart, build.metricsAtEnd);
  return {
    root: build.root,
    confirmationsPerSecond: round(confirmations / Math.max(1e-9, build.seconds), 1),
    latencyMs: percentiles(build.latenciesMs),
    errors: build.errors,
    serviceCpuMsPerConfirmation: perConfirmation(build.serviceCpuMs),
    databaseCpuMsPerConfirmation: perConfirmation(build.databaseCpuMs),
    meanBatch: batches.meanSize,
    meanMs: batches.meanMs,
    slices: build.slices,
    checks,
  };
}

async function compare(opts: Options): Promise<Report> {
  const { config } = loadConfig({ ...process.env, LOG_LEVEL: 'silent' });
  const runId = `${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  // Ctrl-C stops after the step under way, so that the services, databases and queues go.
  let interrupted = false;
  const onSignal = () => {
    interrupted = true;
    progress('interrupted: stopping after this step, then cleaning up');
  };
  const checkpoint = () => {
    if (interrupted) throw new Error('interrupted');
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const jwtSecret = randomBytes(24).toString('hex');
  const orders = Math.ceil(opts.lessons / opts.lessonsPerOrder);
  const idempotencyKey = (ordinal: number) => `compare-${runId}-${ordinal}`;
  const newBuild = async (name: Build['name'], root: string): Promise<Build> => {
    const database = new URL(config.databaseUrl);
    database.pathname = `/escrow_compare_${runId}_${name}`;
    return {
      name,
      root,
      databaseUrl: database.toString(),
      queuePrefix: `escrow_compare_${runId}_${name}`,
      port: await freePort(),
      admin: new Client({ connectionString: database.toString(), application_name: 'bench' }),
      next: new ConfirmationSupply({
        lessons: orders * opts.lessonsPerOrder,
        lessonsPerOrder: opts.lessonsPerOrder,
        jwtSecret,
        idempotencyKey,
      }).next,
      warmedUp: [],
      answered: [],
      latenciesMs: [],
      seconds: 0,
      errors: 0,
      serviceCpuMs: 0,
      databaseCpuMs: 0,
      metricsAtStart: new Map(),
      metricsAtEnd: new Map(),
      slices: [],
    };
  };
  const builds = [
    await newBuild('baseline', opts.baseline),
    await newBuild('candidate', REPO_ROOT),
  ];
  const [baseline, candidate] = builds;
  try {
    for (const build of builds) {
      checkpoint();
      if (opts.build) {
        progress(`building ${build.name} (${build.root})`);
        await run('npx', ['nest', 'build'], build.root);
      }
      progress(`${build.name}: migrating and seeding ${orders * opts.lessonsPerOrder} lessons`);
      await prepare(build, opts);
    }
    for (const build of builds) {
      build.service = Service.start({
        root: build.root,
        port: build.port,
        sandboxBankPort: await freePort(),
        databaseUrl: build.databaseUrl,
        queuePrefix: build.queuePrefix,
        jwtSecret,
      });
    }
    for (const build of builds) {
      await build.service!.ready(`http://127.0.0.1:${build.port}`);
      progress(`${build.name}: ${await waitForSealing(build.admin, 120_000)}`);
    }
    for (const build of builds) {
      progress(`${build.name}: warm-up, ${opts.connections} connections, ${opts.warmup} s`);
      build.warmedUp = (await load(build, opts, opts.warmup)).confirmed;
    }
    // One checkpoint serves both databases: it is the server's.
    await checkpointBeforeMeasuring(builds[0].admin, progress);
    // Each round in the other order, so that neither build always follows the other.
    for (let turn = 0; turn < opts.slices; turn++) {
      for (const build of turn % 2 === 0 ? builds : [...builds].reverse()) {
        checkpoint();
        progress(`slice ${turn + 1}/${opts.slices}: ${build.name}, ${opts.slice} s`);
        await measureSlice(build, () => load(build, opts, opts.slice));
      }
    }
    await Promise.all(builds.map((build) => build.service!.stop()));
    const [base, cand] = await Promise.all(
      builds.map(async (build) => {
        progress(`${build.name}: checking the ledger`);
        const checks = await checkLedger(build.databaseUrl, {
          ordinals: [...build.warmedUp, ...build.answered],
          idempotencyKey,
          lessonsPerOrder: opts.lessonsPerOrder,
        });
        return figuresOf(build, checks);
      }),
    );
    const ratio = (a: number, b: number) => round(a / Math.max(1e-9, b), 2);
    return {
      config: opts,
      baseline: base,
      candidate: cand,
      ratios: {
        confirmationsPerSecond: ratio(cand.confirmationsPerSecond, base.confirmationsPerSecond),
        p50: ratio(cand.latencyMs.p50, base.latencyMs.p50),
        p99: ratio(cand.latencyMs.p99, base.latencyMs.p99),
        serviceCpu: ratio(cand.serviceCpuMsPerConfirmation, base.serviceCpuMsPerConfirmation),
        databaseCpu: ratio(cand.databaseCpuMsPerConfirmation, base.databaseCpuMsPerConfirmation),
      },
      slicesCandidateFaster: candidate.slices.filter(
        (slice, index) =>
          slice.confirmationsPerSecond > baseline.slices[index].confirmationsPerSecond,
      ).length,
    };
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    for (const build of builds) {
      await build.service?.stop();
      await build.admin.end().catch(() => undefined);
      await dropQueueKeys(config.redisUrl, build.queuePrefix).catch(() => undefined);
      // The bundled sandbox bank's database is named after the service's (see main.ts).
      const sandbox = new URL(build.databaseUrl);
      sandbox.pathname = `${sandbox.pathname}_sandbox_bank`;
      for (const url of [build.databaseUrl, sandbox.toString()]) {
        await dropDatabase(url).catch((error: unknown) =>
          progress(`could not drop ${url}: ${String(error)}`),
        );
      }
    }
  }
}

function text(report: Report): string {
  const { baseline, candidate, ratios, config } = report;
  const row = (label: string, a: string | number, b: string | number, ratio?: number) =>
    `${label.padEnd(26)}${String(a).padStart(12)}${String(b).padStart(12)}${
      ratio === undefined ? '' : String(ratio).padStart(12)
    }`;
  const slice = (s: Slice) =>
    `${s.confirmationsPerSecond}/s p99 ${s.latencyMs.p99}${s.lessonsRanOut ? ' RAN OUT' : ''}`;
  return [
    `POST /v1/lessons/:id/confirm, two builds taking turns: ${config.slices} slices of ` +
      `${config.slice} s each, ${config.connections} connections, after ${config.warmup} s ` +
      `warm-up; ${config.institutions} institutions, ${config.lessons} lessons each`,
    `baseline  ${baseline.root}`,
    `candidate ${candidate.root}`,
    row('', 'baseline', 'candidate', undefined) + '   cand/base',
    row(
      'confirmations/s',
      baseline.confirmationsPerSecond,
      candidate.confirmationsPerSecond,
      ratios.confirmationsPerSecond,
    ),
    row('p50 ms', baseline.latencyMs.p50, candidate.latencyMs.p50, ratios.p50),
    row('p97.5 ms', baseline.latencyMs.p97_5, candidate.latencyMs.p97_5),
    row('p99 ms', baseline.latencyMs.p99, candidate.latencyMs.p99, ratios.p99),
    row(
      'service CPU ms/conf.',
      baseline.serviceCpuMsPerConfirmation,
      candidate.serviceCpuMsPerConfirmation,
      ratios.serviceCpu,
    ),
    row(
      'PostgreSQL CPU ms/conf.',
      baseline.databaseCpuMsPerConfirmation,
      candidate.databaseCpuMsPerConfirmation,
      ratios.databaseCpu,
    ),
    row('confirmations per batch', baseline.meanBatch, candidate.meanBatch),
    row('in the API ms', baseline.meanMs.request ?? '-', candidate.meanMs.request ?? '-'),
    row('waiting for a batch ms', baseline.meanMs.wait ?? '-', candidate.meanMs.wait ?? '-'),
    row("batch's read ms", baseline.meanMs.read ?? '-', candidate.meanMs.read ?? '-'),
    row("batch's statement ms", baseline.meanMs.write ?? '-', candidate.meanMs.write ?? '-'),
    row('errors', baseline.errors, candidate.errors),
    `candidate faster in ${report.slicesCandidateFaster} of ${config.slices} rounds`,
    ...baseline.slices.map(
      (s, index) => `  round ${index + 1}: ${slice(s)}  |  ${slice(candidate.slices[index])}`,
    ),
    `checks    baseline ${baseline.checks.ok ? 'ok' : 'FAILED'}, candidate ${
      candidate.checks.ok ? 'ok' : 'FAILED'
    }`,
  ].join('\n');
}

async function compareFromCommandLine(): Promise<void> {
  const opts = options(process.argv.slice(2));
  const report = await compare(opts);
  process.stdout.write(opts.json ? `${JSON.stringify(report, null, 2)}\n` : `${text(report)}\n`);
  process.exit(report.baseline.checks.ok && report.candidate.checks.ok ? 0 : 2);
}

if (require.main === module) {
  compareFromCommandLine().catch((error: unknown) => {
    const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
    process.stderr.write(`bench:compare: ${message}\n`);
    process.exit(1);
  });
}
