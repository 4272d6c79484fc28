/**
 * Audit benchmark: `npm run bench:audit [-- --postings 1000000 --small 10000 --orders 20
 * --samples 2000 --seal 100000 --database-url postgres://… --keep]`.
 *
 * Creates a database of its own (dropped at the end unless --keep), applies the migrations and
 * loads two institutions whose custody_cash accounts carry `--small` and `--postings` postings
 * (each a payment: custody_cash debit, one of `--orders` order_escrow accounts credit). The load
 * is plain SQL with the triggers off (session_replication_role = replica) for speed, with every
 * posting's running totals computed exactly as the posting trigger would. Then it measures, with
 * the service code itself: a balance at a random past instant (p50/p99) for both institutions; a
 * CSV export of the big custody_cash journal through an HTTP response (time, peak memory); and
 * sealing throughput with SM3 and SHA-256, and verification. Prints a table and one JSON line.
 */
import { Logger } from '@nestjs/common';
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, get as httpGet } from 'node:http';
import { AddressInfo } from 'node:net';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { DataSource } from 'typeorm';
import { BALANCES_AT_SQL, BalancesService } from '../audit/balances.service';
import { JournalService } from '../audit/journal.service';
import { verifyChain, sqlOf } from '../audit/sealing/chain';
import { HashAlgorithm } from '../audit/sealing/hashing';
import { SealLedger } from '../audit/sealing/seal-ledger';
import { DEFAULT_SEALING_CONFIG } from '../audit/sealing/sealing.config';
import type { Principal } from '../auth/principal';
import { loadConfig } from '../config/config';
import { dataSourceOptions } from '../database/data-source';
import { dropDatabase } from '../database/ensure-database';
import { prepareDatabase } from '../database/migrate';
import { INSTITUTION_ACCOUNT_CODES, ACCOUNT_TYPES } from '../ledger/chart-of-accounts';
import { positive, round } from './bench/args';

interface Options {
  databaseUrl: string;
  postings: number;
  small: number;
  orders: number;
  samples: number;
  seal: number;
  keep: boolean;
}

function options(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      'database-url': { type: 'string' },
      postings: { type: 'string' },
      small: { type: 'string' },
      orders: { type: 'string' },
      samples: { type: 'string' },
      seal: { type: 'string' },
      keep: { type: 'boolean', default: false },
    },
  });
  const base = new URL(
    values['database-url'] ??
      loadConfig({ ...process.env, LOG_LEVEL: 'silent' }).config.databaseUrl,
  );
  base.pathname = `/escrow_bench_audit_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  return {
    databaseUrl: base.toString(),
    postings: positive(values.postings, 1_000_000, '--postings'),
    small: positive(values.small, 10_000, '--small'),
    orders: positive(values.orders, 20, '--orders'),
    samples: positive(values.samples, 2_000, '--samples'),
    seal: positive(values.seal, 100_000, '--seal'),
    keep: values.keep ?? false,
  };
}

const log = (message: string) => process.stderr.write(`bench:audit ${message}\n`);

const seconds = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e9;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

interface Books {
  institutionId: string;
  custodyId: string;
  postings: number;
  from: Date;
  to: Date;
}

/** One institution with its accounts and `postings` payments spread over 30 days. */
async function loadInstitution(
  dataSource: DataSource,
  districtId: string,
  postings: number,
  orders: number,
): Promise<Books> {
  const institutionId = randomUUID();
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    await runner.query(
      `INSERT INTO institutions (id, name, license_no, district_id, created_by, created_at)
       VALUES ($1, $2, $3, $4, 'bench', now() - interval '31 days')`,
      [institutionId, `Bench ${postings}`, `BENCH-${institutionId}`, districtId],
    );
    const ids: Record<string, string> = {};
    for (const code of INSTITUTION_ACCOUNT_CODES) {
      const [row] = (await runner.query(
        `INSERT INTO ledger_accounts (code, type, institution_id, created_at)
         VALUES ($1, $2, $3, now() - interval '31 days') RETURNING id`,
        [code, ACCOUNT_TYPES[code], institutionId],
      )) as { id: string }[];
      ids[code] = row.id;
    }
    await runner.query(
      `INSERT INTO ledger_accounts (code, type, institution_id, order_id, created_at)
       SELECT 'order_escrow', 'liability', $1, gen_random_uuid(), now() - interval '31 days'
       FROM generate_series(1, $2::int)`,
      [institutionId, orders],
    );
    const [{ to }] = (await runner.query(`SELECT date_trunc('second', now()) AS to`)) as {
      to: Date;
    }[];
    const from = new Date(to.getTime() - 30 * 86_400_000);
    const step = (30 * 86_400) / postings; // seconds between payments
    // Loaded as a replica would apply it: no triggers, so the running totals are written here.
    await runner.query(`SET session_replication_role = replica`);
    await runner.query(`SET work_mem = '256MB'`);
    await runner.query(
      `INSERT INTO ledger_transactions (id, kind, reference, institution_id, metadata,
         created_at, effective_at)
       SELECT md5($1 || ':' || g)::uuid, 'payment_received', 'bench:' || $1 || ':' || g, $1::uuid,
              '{}'::jsonb, $2::timestamptz + make_interval(secs => g * $3::float8),
              $2::timestamptz + make_interval(secs => g * $3::float8)
       FROM generate_series(1, $4::int) g`,
      [institutionId, from, step, postings],
    );
    await runner.query(
      `WITH escrow AS (
         SELECT id, row_number() OVER (ORDER BY id) - 1 AS k FROM ledger_accounts
         WHERE institution_id = $1 AND code = 'order_escrow'),
       payment AS (
         SELECT g, 1000 + g % 97 AS amount, g % $5::int AS k,
                $2::timestamptz + make_interval(secs => g * $3::float8) AS at
         FROM generate_series(1, $4::int) g),
       legs AS (
         SELECT p.g, 1 AS leg, $6::uuid AS account_id, p.amount,
                row_number() OVER (ORDER BY p.g) AS version,
                sum(p.amount) OVER (ORDER BY p.g) AS debits, 0::numeric AS credits, p.at
         FROM payment p
         UNION ALL
         SELECT p.g, 2, e.id, -p.amount, row_number() OVER (PARTITION BY p.k ORDER BY p.g),
                0, sum(p.amount) OVER (PARTITION BY p.k ORDER BY p.g),
                p.at + interval '1 microsecond'
         FROM payment p JOIN escrow e ON e.k = p.k)
       INSERT INTO ledger_postings (transaction_id, account_id, phase, amount, account_version,
         posted_debits_after, posted_credits_after, pending_debits_after, pending_credits_after,
         recorded_at)
       SELECT md5($1 || ':' || g)::uuid, account_id, 'posted', amount, version, debits, credits,
              0, 0, at
       FROM legs ORDER BY g, leg`,
      [institutionId, from, step, postings, orders, ids.custody_cash],
    );
    await runner.query(
      `UPDATE ledger_accounts a SET posted_debits = s.debits, posted_credits = s.credits,
         version = s.version
       FROM (SELECT DISTINCT ON (account_id) account_id, posted_debits_after AS debits,
                    posted_credits_after AS credits, account_version AS version
             FROM ledger_postings
             WHERE account_id IN (SELECT id FROM ledger_accounts WHERE institution_id = $1)
             ORDER BY account_id, account_version DESC) s
       WHERE a.id = s.account_id`,
      [institutionId],
    );
    await runner.query(`SET session_replication_role = origin`);
    return { institutionId, custodyId: ids.custody_cash, postings, from, to };
  } finally {
    await runner.release();
  }
}

interface Latency {
  p50: number;
  p99: number;
  mean: number;
  max: number;
}

function summarise(times: number[]): Latency {
  const sorted = [...times].sort((a, b) => a - b);
  return {
    p50: round(percentile(sorted, 50)),
    p99: round(percentile(sorted, 99)),
    mean: round(sorted.reduce((a, b) => a + b, 0) / sorted.length),
    max: round(sorted[sorted.length - 1]),
  };
}

/**
 * Times each call `samples` times, the series interleaved call by call, so that whatever else
 * the machine does falls on all of them alike and their ratio stays meaningful.
 */
async function measure(
  samples: number,
  calls: Record<string, () => Promise<unknown>>,
): Promise<Record<string, Latency>> {
  const names = Object.keys(calls);
  for (let i = 0; i < Math.min(200, samples); i++) {
    for (const name of names) await calls[name](); // warm-up: plans, caches
  }
  const times = Object.fromEntries(names.map((name) => [name, [] as number[]]));
  for (let i = 0; i < samples; i++) {
    for (const name of names) {
      const start = process.hrtime.bigint();
      await calls[name]();
      times[name].push(Number(process.hrtime.bigint() - start) / 1e6);
    }
  }
  return Object.fromEntries(names.map((name) => [name, summarise(times[name])]));
}

const randomInstant = (books: Books) =>
  new Date(
    books.from.getTime() + Math.random() * (books.to.getTime() - books.from.getTime()),
  ).toISOString();

/** Buffers one balances query touches: the same for 10^4 and 10^6 postings when it probes. */
async function buffersOf(dataSource: DataSource, sql: string, params: unknown[]) {
  type Explained = {
    'QUERY PLAN': [{ Plan: { 'Shared Hit Blocks': number; 'Shared Read Blocks': number } }];
  }[];
  const rows = await dataSource.query<Explained>(
    `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${sql}`,
    params,
  );
  const plan = rows[0]['QUERY PLAN'][0].Plan;
  return plan['Shared Hit Blocks'] + plan['Shared Read Blocks'];
}

/** Streams the export through a real HTTP response to a client that discards it. */
async function exportCsv(journal: JournalService, principal: Principal, books: Books) {
  const server = createServer((_request, response) => {
    journal
      .exportJournalCsv(principal, { institutionId: books.institutionId, account: 'custody_cash' })
      .then((stream) => {
        response.writeHead(200, { 'Content-Type': 'text/csv; charset=utf-8' });
        stream.pipe(response);
      })
      .catch((error: unknown) => {
        response.writeHead(500);
        response.end(String(error));
      });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  (globalThis as { gc?: () => void }).gc?.();
  const before = process.memoryUsage();
  let peakRss = before.rss;
  let peakHeap = before.heapUsed;
  const sampler = setInterval(() => {
    const now = process.memoryUsage();
    peakRss = Math.max(peakRss, now.rss);
    peakHeap = Math.max(peakHeap, now.heapUsed);
  }, 20);
  const start = process.hrtime.bigint();
  let bytes = 0;
  let lines = 0;
  try {
    await new Promise<void>((resolve, reject) => {
      const { port } = server.address() as AddressInfo;
      httpGet({ host: '127.0.0.1', port, path: '/' }, (response) => {
        response.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
          for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines += 1;
        });
        response.on('end', resolve);
        response.on('error', reject);
      }).on('error', reject);
    });
  } finally {
    clearInterval(sampler);
    await new Promise((resolve) => server.close(resolve));
  }
  const elapsed = seconds(start);
  const mb = (value: number) => round(value / 2 ** 20, 1);
  return {
    rows: lines - 1,
    megabytes: mb(bytes),
    seconds: round(elapsed, 2),
    rowsPerSecond: Math.round((lines - 1) / elapsed),
    rssBeforeMb: mb(before.rss),
    peakRssMb: mb(peakRss),
    peakHeapMb: mb(peakHeap),
  };
}

/**
 * Sealing takes only what no running transaction of the whole server can still precede; wait
 * until the load's transactions are behind that horizon (another session's open transaction on
 * the same server holds it back), so that the timing is the sealing's own.
 */
async function waitForHorizon(dataSource: DataSource): Promise<number> {
  const start = process.hrtime.bigint();
  for (;;) {
    const [{ ready }] = await dataSource.query<{ ready: boolean }[]>(
      `SELECT pg_snapshot_xmin(pg_current_snapshot()) > max(created_xid) AS ready
       FROM ledger_transactions`,
    );
    if (ready) return round(seconds(start), 2);
    if (seconds(start) > 300) throw new Error('another transaction held the horizon for 5 min');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function seal(dataSource: DataSource, algorithm: HashAlgorithm, transactions: number) {
  const blockSize = DEFAULT_SEALING_CONFIG.blockSize;
  const sealer = new SealLedger(dataSource, {
    ...DEFAULT_SEALING_CONFIG,
    algorithm,
    maxBlocksPerRun: Math.ceil(transactions / blockSize),
  });
  const start = process.hrtime.bigint();
  const summary = await sealer.run();
  const elapsed = seconds(start);
  return {
    algorithm,
    blocks: summary.blocks,
    transactions: summary.transactions,
    postings: summary.postings,
    seconds: round(elapsed, 2),
    transactionsPerSecond: Math.round(summary.transactions / elapsed),
  };
}

async function main(): Promise<void> {
  const opts = options(process.argv.slice(2));
  Logger.overrideLogger(['error']);
  log(`database ${new URL(opts.databaseUrl).pathname.slice(1)}`);
  await prepareDatabase({ databaseUrl: opts.databaseUrl });
  const dataSource = new DataSource({
    ...dataSourceOptions({ databaseUrl: opts.databaseUrl }),
    entities: [],
    migrations: [],
    extra: { max: 4, application_name: 'escrow-ledger bench:audit' },
  });
  await dataSource.initialize();
  try {
    const districtId = `bench-${randomBytes(3).toString('hex')}`;
    const principal: Principal = { sub: 'bench', role: 'auditor', districtId };
    let start = process.hrtime.bigint();
    log(`loading ${opts.small} and ${opts.postings} custody postings (${opts.orders} orders each)`);
    const small = await loadInstitution(dataSource, districtId, opts.small, opts.orders);
    const big = await loadInstitution(dataSource, districtId, opts.postings, opts.orders);
    await dataSource.query('VACUUM ANALYZE ledger_postings');
    await dataSource.query('VACUUM ANALYZE ledger_transactions');
    await dataSource.query('ANALYZE ledger_accounts');
    const loadSeconds = round(seconds(start), 1);
    log(`loaded in ${loadSeconds} s`);

    const balances = new BalancesService(dataSource);
    const accountSql = `SELECT p.posted_debits_after, p.posted_credits_after, p.pending_debits_after,
        p.pending_credits_after FROM ledger_postings p
      WHERE p.account_id = $1 AND p.recorded_at = (
        SELECT max(q.recorded_at) FROM ledger_postings q
        WHERE q.account_id = $1 AND q.recorded_at <= $2::timestamptz)
      ORDER BY p.account_version DESC LIMIT 1`;
    log(`balances at random instants, ${opts.samples} samples of each, interleaved`);
    const timed = await measure(opts.samples, {
      smallInstitution: () =>
        balances.getInstitutionBalances(principal, small.institutionId, {
          at: randomInstant(small),
        }),
      bigInstitution: () =>
        balances.getInstitutionBalances(principal, big.institutionId, { at: randomInstant(big) }),
      smallAccount: () => dataSource.query(accountSql, [small.custodyId, randomInstant(small)]),
      bigAccount: () => dataSource.query(accountSql, [big.custodyId, randomInstant(big)]),
    });
    const latency: Record<string, { institution: Latency; account: Latency; buffers: number }> = {};
    for (const [books, size] of [
      [small, 'small'],
      [big, 'big'],
    ] as const) {
      const buffers = await buffersOf(dataSource, BALANCES_AT_SQL, [
        books.institutionId,
        districtId,
        randomInstant(books),
      ]);
      latency[String(books.postings)] = {
        institution: timed[`${size}Institution`],
        account: timed[`${size}Account`],
        buffers,
      };
    }

    log(`CSV export of the ${opts.postings}-posting custody_cash journal`);
    const journal = new JournalService(dataSource);
    const csvSmall = await exportCsv(journal, principal, small);
    const csvBig = await exportCsv(journal, principal, big);

    log(`sealing ${opts.seal} transactions with SM3, then ${opts.seal} with SHA-256`);
    const horizonWaitSeconds = await waitForHorizon(dataSource);
    const sealSm3 = await seal(dataSource, 'sm3', opts.seal);
    const sealSha = await seal(dataSource, 'sha256', opts.seal);
    start = process.hrtime.bigint();
    const runner = dataSource.createQueryRunner();
    await runner.connect();
    let verified;
    try {
      await runner.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      verified = await verifyChain(sqlOf(runner), { toHeight: sealSm3.blocks + sealSha.blocks });
      await runner.query('ROLLBACK');
    } finally {
      await runner.release();
    }
    const verifySeconds = seconds(start);

    const smallKey = String(small.postings);
    const bigKey = String(big.postings);
    const result = {
      loadAverage: loadavg().map((value) => round(value, 2)),
      cpus: cpus().length,
      postgres: (await dataSource.query<{ server_version: string }[]>('SHOW server_version'))[0]
        .server_version,
      node: process.version,
      loadSeconds,
      balanceAt: {
        [smallKey]: latency[smallKey],
        [bigKey]: latency[bigKey],
        p99Ratio: {
          institution: round(
            latency[bigKey].institution.p99 / latency[smallKey].institution.p99,
            2,
          ),
          account: round(latency[bigKey].account.p99 / latency[smallKey].account.p99, 2),
        },
        accountsPerInstitution: INSTITUTION_ACCOUNT_CODES.length + opts.orders,
      },
      csvExport: { [smallKey]: csvSmall, [bigKey]: csvBig },
      sealing: [sealSm3, sealSha],
      horizonWaitSeconds,
      verify: {
        ok: verified.ok,
        blocks: verified.blocks,
        transactions: verified.transactions,
        seconds: round(verifySeconds, 2),
        transactionsPerSecond: Math.round(verified.transactions / verifySeconds),
      },
    };

    const row = (cells: (string | number)[]) =>
      process.stdout.write(
        `${cells.map((c, i) => String(c).padEnd(i === 0 ? 44 : 14)).join('')}\n`,
      );
    process.stdout.write('\n');
    row(['balance at an instant (ms)', 'p50', 'p99', 'mean', 'buffers']);
    for (const key of [smallKey, bigKey]) {
      const l = latency[key];
      row([
        `  institution, ${key} custody postings`,
        l.institution.p50,
        l.institution.p99,
        l.institution.mean,
        l.buffers,
      ]);
      row([`  one account, ${key} postings`, l.account.p50, l.account.p99, l.account.mean, '']);
    }
    row([
      '  p99 ratio big/small (institution, account)',
      result.balanceAt.p99Ratio.institution,
      result.balanceAt.p99Ratio.account,
      '',
      '',
    ]);
    process.stdout.write('\n');
    row(['CSV export (custody_cash journal)', 'rows', 'seconds', 'rows/s', 'peak RSS MB']);
    for (const [key, csv] of [
      [smallKey, csvSmall],
      [bigKey, csvBig],
    ] as const) {
      row([
        `  ${key} postings (RSS before ${csv.rssBeforeMb} MB)`,
        csv.rows,
        csv.seconds,
        csv.rowsPerSecond,
        csv.peakRssMb,
      ]);
    }
    process.stdout.write('\n');
    row(['sealing', 'transactions', 'seconds', 'tx/s', 'blocks']);
    for (const s of [sealSm3, sealSha]) {
      row([`  ${s.algorithm}`, s.transactions, s.seconds, s.transactionsPerSecond, s.blocks]);
    }
    row([
      '  verify (recompute both)',
      result.verify.transactions,
      result.verify.seconds,
      result.verify.transactionsPerSecond,
      result.verify.blocks,
    ]);
    process.stdout.write(`\n${JSON.stringify(result)}\n`);
  } finally {
    await dataSource.destroy();
    if (!opts.keep) await dropDatabase(opts.databaseUrl);
    else log(`kept ${opts.databaseUrl}`);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:audit failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
