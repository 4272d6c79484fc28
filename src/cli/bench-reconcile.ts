/**
 * Reconciliation benchmark: `npm run bench:reconcile -- [--lines 100000] [--format camt053|csv]
 * [--keep-database]`.
 *
 * In a throwaway database (the configured server, a database of its own, dropped at the end) it
 * seeds one custody account with the ledger movements of a busy day — payments as the
 * notification path writes them (payments, bank events, ledger transactions with their
 * custody_cash postings) and settlement instructions completed in the ledger — then generates
 * the bank's statement of that day (1% of the payments without any reference, so that they match
 * by amount, date and counterparty), imports it through ImportStatement and waits for the bull
 * worker to match it. Prints lines per second and the process's peak memory (RSS).
 */
import { getQueueToken } from '@nestjs/bull';
import { DynamicModule, Module } from '@nestjs/common';
import type { Queue } from 'bull';
import { NestFactory } from '@nestjs/core';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DataSource } from 'typeorm';
import { AppModule } from '../app.module';
import { formatYuan } from '../common/money/fen';
import { chinaDate } from '../common/time/china-date';
import { loadConfig } from '../config/config';
import { dropDatabase } from '../database/ensure-database';
import { prepareDatabase } from '../database/migrate';
import { LedgerService } from '../ledger/ledger.service';
import { ImportStatement } from '../reconciliation/import-statement.usecase';
import { MatchSummary } from '../reconciliation/match-account.usecase';
import { QueueName } from '../queues/queues';
import { ReconciliationModule } from '../reconciliation/reconciliation.module';
import { ReconciliationReports } from '../reconciliation/reconciliation-reports.service';

const SEED_BATCH = 1_000;
/** One line in this many is a payment the bank lists without a reference. */
const UNREFERENCED_EVERY = 100;
/** One line in this many is a settlement paid out. */
const DEBIT_EVERY = 20;

interface Movement {
  direction: 'credit' | 'debit';
  ref: string;
  endToEndId: string | null;
  amountFen: number;
  counterparty: string;
  bookedAt: string;
}

@Module({})
class BenchModule {
  static forRoot(config: ReturnType<typeof loadConfig>['config']): DynamicModule {
    return { module: BenchModule, imports: [AppModule.forRoot(config), ReconciliationModule] };
  }
}

function log(message: string): void {
  process.stdout.write(`${message}\n`);
}

async function seed(dataSource: DataSource, lines: number) {
  const ledger = new LedgerService();
  const suffix = randomBytes(4).toString('hex');
  const accountNo = `6222${String(Date.now()).slice(-12)}`;
  const settlementNo = `6228${String(Date.now()).slice(-12)}`;
  const { institutionId, accounts } = await dataSource.transaction(async (manager) => {
    const [institution]: { id: string }[] = await manager.query(
      `INSERT INTO institutions (name, license_no, district_id, created_by)
       VALUES ('Bench School', $1, 'bench', 'bench') RETURNING id`,
      [`BENCH-${suffix}`],
    );
    await manager.query(
      `INSERT INTO institution_bank_accounts (institution_id, kind, bank_code, account_no, account_name)
       VALUES ($1, 'custody', 'ICBC', $2, 'Bench custody'), ($1, 'settlement', 'BOC', $3, 'Bench')`,
      [institution.id, accountNo, settlementNo],
    );
    return {
      institutionId: institution.id,
      accounts: await ledger.openInstitutionAccounts(manager, institution.id),
    };
  });
  const debits = Math.floor(lines / DEBIT_EVERY);
  const credits = lines - debits;
  const params = [institutionId, accountNo, accounts.custody_cash, accounts.suspense];
  for (let from = 1; from <= credits; from += SEED_BATCH) {
    const to = Math.min(from + SEED_BATCH - 1, credits);
    await dataSource.transaction((manager) =>
      manager.query(
        `WITH src AS (
           SELECT g, gen_random_uuid() AS tx_id, 'BENCHIN' || lpad(g::text, 9, '0') AS txn,
                  (g * 7919) % 500000 + 100 AS amount
           FROM generate_series($5::int, $6::int) g),
         ev AS (
           INSERT INTO bank_events (event_id, type, body_sha256)
           SELECT 'evt_' || txn, 'payment_received', md5(txn) FROM src),
         tx AS (
           INSERT INTO ledger_transactions (id, kind, reference, institution_id, metadata)
           SELECT tx_id, 'payment_unmatched', 'payment:' || txn, $1,
                  jsonb_build_object('bankTxnId', txn) FROM src),
         po AS (
           INSERT INTO ledger_postings (transaction_id, account_id, phase, amount)
           SELECT tx_id, leg.account_id, 'posted', leg.amount
           FROM src CROSS JOIN LATERAL (VALUES ($3::uuid, amount), ($4::uuid, -amount))
             AS leg(account_id, amount)
           ORDER BY g, leg.account_id)
         INSERT INTO payments (event_id, bank_txn_id, institution_id, account_no, amount_fen,
           reference, payer_bank_code, payer_account_no, payer_account_name, outcome,
           ledger_transaction_id, occurred_at)
         SELECT 'evt_' || txn, txn, $1, $2, amount, 'REF' || txn, 'CMB',
                '6214' || lpad(g::text, 12, '0'), '家长', 'unknown_reference', tx_id, now()
         FROM src`,
        [...params, from, to],
      ),
    );
  }
  for (let from = 1; from <= debits; from += SEED_BATCH) {
    const to = Math.min(from + SEED_BATCH - 1, debits);
    await dataSource.transaction((manager) =>
      manager.query(
        `WITH src AS (
           SELECT g, gen_random_uuid() AS id, gen_random_uuid() AS tx_id,
                  'BENCHOUT' || lpad(g::text, 9, '0') AS txn, (g * 104729) % 300000 + 100 AS amount
           FROM generate_series($5::int, $6::int) g),
         tx AS (
           INSERT INTO ledger_transactions (id, kind, reference, institution_id, metadata)
           SELECT tx_id, 'settlement_paid', 'instruction:' || id || ':paid', $1,
                  jsonb_build_object('instructionId', id) FROM src),
         po AS (
           INSERT INTO ledger_postings (transaction_id, account_id, phase, amount)
           SELECT tx_id, leg.account_id, 'posted', leg.amount
           FROM src CROSS JOIN LATERAL (VALUES ($4::uuid, amount), ($3::uuid, -amount))
             AS leg(account_id, amount)
           ORDER BY g, leg.account_id)
         INSERT INTO bank_instructions (id, purpose, subject_id, institution_id, from_account_no,
           to_bank_code, to_account_no, to_account_name, amount_fen, status, attempts, bank_txn_id,
           completion_transaction_id, created_by, completed_at)
         SELECT id, 'settlement', gen_random_uuid(), $1, $2, 'BOC', $7, 'Bench', amount,
                'succeeded', 1, txn, tx_id, 'bench', now()
         FROM src`,
        [...params, from, to, settlementNo],
      ),
    );
  }
  // An established database has statistics on these tables; a freshly seeded one must be told.
  for (const table of ['payments', 'bank_instructions', 'ledger_transactions', 'ledger_postings']) {
    await dataSource.query(`ANALYZE ${table}`);
  }
  return { accountNo, institutionId };
}

/** The bank's view of the seeded movements, in booking order. */
async function movements(dataSource: DataSource, accountNo: string): Promise<Movement[]> {
  const rows: {
    direction: 'credit' | 'debit';
    txn: string;
    e2e: string;
    amount: string;
    counterparty: string;
    at: string;
    n: string;
  }[] = await dataSource.query(
    `SELECT * FROM (
       SELECT 'credit' AS direction, bank_txn_id AS txn, reference AS e2e, amount_fen AS amount,
              payer_account_no AS counterparty, to_char(occurred_at AT TIME ZONE 'Asia/Shanghai',
              'YYYY-MM-DD"T"HH24:MI:SS') AS at, row_number() OVER (ORDER BY bank_txn_id) AS n
       FROM payments WHERE account_no = $1
       UNION ALL
       SELECT 'debit', bank_txn_id, id::text, amount_fen, to_account_no,
              to_char(completed_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD"T"HH24:MI:SS'), 0
       FROM bank_instructions WHERE from_account_no = $1) m
     ORDER BY at, txn`,
    [accountNo],
  );
  return rows.map((row) => {
    const unreferenced = row.direction === 'credit' && Number(row.n) % UNREFERENCED_EVERY === 0;
    return {
      direction: row.direction,
      ref: unreferenced ? `ALT${row.txn}` : row.txn,
      endToEndId: unreferenced ? null : row.e2e,
      amountFen: Number(row.amount),
      counterparty: row.counterparty,
      bookedAt: `${row.at}+08:00`,
    };
  });
}

function camt053(accountNo: string, day: string, entries: Movement[]): Buffer {
  const ind = (credit: boolean) => `<CdtDbtInd>${credit ? 'CRDT' : 'DBIT'}</CdtDbtInd>`;
  let credits = 0;
  let debits = 0;
  for (const e of entries) {
    if (e.direction === 'credit') credits += e.amountFen;
    else debits += e.amountFen;
  }
  const nCredits = entries.filter((e) => e.direction === 'credit').length;
  const head = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"><BkToCstmrStmt>',
    `<GrpHdr><MsgId>BENCH${Date.now()}</MsgId><CreDtTm>${day}T23:59:59+08:00</CreDtTm></GrpHdr>`,
    `<Stmt><Id>BENCH-${day}</Id><ElctrncSeqNb>1</ElctrncSeqNb>`,
    `<FrToDt><FrDtTm>${day}T00:00:00+08:00</FrDtTm><ToDtTm>${day}T23:59:59+08:00</ToDtTm></FrToDt>`,
    `<Acct><Id><Othr><Id>${accountNo}</Id></Othr></Id><Ccy>CNY</Ccy></Acct>`,
    `<Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy="CNY">0.00</Amt>${ind(true)}<Dt><Dt>${day}</Dt></Dt></Bal>`,
    `<Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="CNY">${formatYuan(credits - debits)}</Amt>${ind(true)}<Dt><Dt>${day}</Dt></Dt></Bal>`,
    `<TxsSummry><TtlNtries><NbOfNtries>${entries.length}</NbOfNtries><Sum>${formatYuan(credits + debits)}</Sum></TtlNtries>`,
    `<TtlCdtNtries><NbOfNtries>${nCredits}</NbOfNtries><Sum>${formatYuan(credits)}</Sum></TtlCdtNtries>`,
    `<TtlDbtNtries><NbOfNtries>${entries.length - nCredits}</NbOfNtries><Sum>${formatYuan(debits)}</Sum></TtlDbtNtries></TxsSummry>`,
  ].join('\n');
  const chunks: Buffer[] = [Buffer.from(head)];
  let part: string[] = [];
  for (const e of entries) {
    const credit = e.direction === 'credit';
    const party = credit ? 'Dbtr' : 'Cdtr';
    part.push(
      `<Ntry><Amt Ccy="CNY">${formatYuan(e.amountFen)}</Amt>${ind(credit)}<Sts><Cd>BOOK</Cd></Sts>` +
        `<BookgDt><DtTm>${e.bookedAt}</DtTm></BookgDt><ValDt><Dt>${day}</Dt></ValDt>` +
        `<AcctSvcrRef>${e.ref}</AcctSvcrRef><BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>${credit ? 'RCDT' : 'ICDT'}</Cd>` +
        `<SubFmlyCd>DMCT</SubFmlyCd></Fmly></Domn></BkTxCd><NtryDtls><TxDtls><Refs><AcctSvcrRef>${e.ref}</AcctSvcrRef>` +
        `<EndToEndId>${e.endToEndId ?? 'NOTPROVIDED'}</EndToEndId></Refs><Amt Ccy="CNY">${formatYuan(e.amountFen)}</Amt>` +
        `${ind(credit)}<RltdPties><${party}><Pty><Nm>${credit ? '家长 王芳' : 'Bench School'}</Nm></Pty></${party}>` +
        `<${party}Acct><Id><Othr><Id>${e.counterparty}</Id></Othr></Id></${party}Acct></RltdPties>` +
        `<RmtInf><Ustrd>${credit ? '学费 tuition' : '结算 settlement'}</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>\n`,
    );
    if (part.length === 1_000) {
      chunks.push(Buffer.from(part.join('')));
      part = [];
    }
  }
  chunks.push(Buffer.from(`${part.join('')}</Stmt></BkToCstmrStmt></Document>\n`));
  return Buffer.concat(chunks);
}

function csv(entries: Movement[]): Buffer {
  const chunks: Buffer[] = [
    Buffer.from(
      '交易日期,交易时间,借方发生额,贷方发生额,余额,对方账号,对方户名,摘要,流水号,客户参考号\r\n',
    ),
  ];
  let balance = 0;
  let part: string[] = [];
  for (const e of entries) {
    balance += e.direction === 'credit' ? e.amountFen : -e.amountFen;
    const yuan = formatYuan(e.amountFen);
    part.push(
      [
        e.bookedAt.slice(0, 10),
        e.bookedAt.slice(11, 19),
        e.direction === 'debit' ? yuan : '',
        e.direction === 'credit' ? yuan : '',
        formatYuan(balance),
        e.counterparty,
        e.direction === 'credit' ? '家长 王芳' : 'Bench School',
        e.direction === 'credit' ? '学费 tuition' : '结算 settlement',
        e.ref,
        e.endToEndId ?? '',
      ].join(',') + '\r\n',
    );
    if (part.length === 1_000) {
      chunks.push(Buffer.from(part.join('')));
      part = [];
    }
  }
  chunks.push(Buffer.from(part.join('')));
  return Buffer.concat(chunks);
}

const mib = (bytes: number) => `${Math.round(bytes / 1024 / 1024)} MiB`;
const secondsFormat = new Intl.NumberFormat('en-US', {
  minimumFractionDigits: 2,
  maximumFractionDigits: 2,
});
const seconds = (ms: number) => `${secondsFormat.format(ms / 1000)} s`;

interface ChildResult {
  lines: number;
  importMs: number;
  matchMs: number;
  baselineRss: number;
  importPeakRss: number;
  peakRss: number;
  status: string;
  matched: number;
  bankOnly: number;
  ledgerOnly: number;
  mismatched: number;
  differenceFen: number | null;
  byRule: { match_rule: string; n: number }[];
  timingsMs: Record<string, number> | null;
}

/**
 * The measured part, in a process of its own (so that seeding and generating leave no garbage in
 * the figures): the service boots, reads the statement file, imports it and lets its worker match.
 */
async function importAndMatch(
  file: string,
  accountNo: string,
  format: string,
): Promise<ChildResult> {
  const { config } = loadConfig({ ...process.env, NODE_ENV: 'test', LOG_LEVEL: 'warn' });
  const app = await NestFactory.createApplicationContext(BenchModule.forRoot(config), {
    logger: ['error', 'warn'],
  });
  try {
    const dataSource = app.get(DataSource);
    const body = readFileSync(file);
    const baselineRss = process.memoryUsage().rss;
    let peakRss = baselineRss;
    const sampler = setInterval(() => {
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
    }, 10);
    const day = chinaDate();
    const started = Date.now();
    const receipt = await app.get(ImportStatement).execute({
      body,
      mediaType: format === 'csv' ? 'text/csv' : 'application/xml',
      accountNo,
      ...(format === 'csv' ? { fromDate: day, toDate: day } : {}),
      source: 'operator',
    });
    const imported = Date.now();
    const importPeakRss = peakRss;
    for (;;) {
      const [row]: { matched_at: Date | null }[] = await dataSource.query(
        'SELECT matched_at FROM reconciliation_statements WHERE id = $1',
        [receipt.statementId],
      );
      if (row.matched_at) break;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const matched = Date.now();
    clearInterval(sampler);
    peakRss = Math.max(peakRss, process.memoryUsage().rss, process.resourceUsage().maxRSS * 1024);
    const report = await app
      .get(ReconciliationReports)
      .statement({ sub: 'bench', role: 'auditor', districtId: 'bench' }, receipt.statementId);
    const byRule: { match_rule: string; n: number }[] = await dataSource.query(
      `SELECT match_rule, count(*)::int AS n FROM reconciliation_lines
       WHERE statement_id = $1 GROUP BY match_rule ORDER BY match_rule`,
      [receipt.statementId],
    );
    const job = await app
      .get<Queue>(getQueueToken(QueueName.Reconciliation))
      .getJob(`match:${receipt.statementId}`);
    return {
      lines: receipt.lineCount,
      importMs: imported - started,
      matchMs: matched - imported,
      baselineRss,
      importPeakRss,
      peakRss,
      status: report.status,
      matched: report.matched.count,
      bankOnly: report.bankOnly.count,
      ledgerOnly: report.ledgerOnly.count,
      mismatched: report.mismatched.count,
      differenceFen: report.balance?.differenceFen ?? null,
      byRule,
      timingsMs: (job?.returnvalue as MatchSummary | undefined)?.timingsMs ?? null,
    };
  } finally {
    await app.close();
  }
}

/** Runs the measured part in a child process of the same kind (ts-node or compiled). */
function runChild(env: NodeJS.ProcessEnv, args: string[]): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    // Under ts-node (npm run bench:reconcile) the child registers it too.
    const loader = __filename.endsWith('.ts')
      ? ['-r', require.resolve('ts-node/register/transpile-only')]
      : [];
    const child = spawn(process.execPath, [...process.execArgv, ...loader, __filename, ...args], {
      env,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => {
      const line = output.split('\n').find((l) => l.startsWith(RESULT_PREFIX));
      if (code !== 0 || !line) {
        reject(new Error(`the measured process ended with ${code}: ${output.slice(-2000)}`));
        return;
      }
      resolve(JSON.parse(line.slice(RESULT_PREFIX.length)) as ChildResult);
    });
  });
}

const RESULT_PREFIX = 'BENCH-RESULT ';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      lines: { type: 'string', default: '100000' },
      format: { type: 'string', default: 'camt053' },
      'keep-database': { type: 'boolean', default: false },
      // Internal: the measured child process.
      'measure-file': { type: 'string' },
      account: { type: 'string' },
    },
  });
  const format = values.format;
  if (format !== 'camt053' && format !== 'csv') throw new Error('--format is camt053 or csv');
  if (values['measure-file'] && values.account) {
    const result = await importAndMatch(values['measure-file'], values.account, format);
    process.stdout.write(`${RESULT_PREFIX}${JSON.stringify(result)}\n`);
    return;
  }
  const lines = Number(values.lines);
  if (!Number.isSafeInteger(lines) || lines < 100) throw new Error('--lines must be at least 100');

  const base = loadConfig({ ...process.env, LOG_LEVEL: 'warn' }).config;
  const runId = `${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  const url = new URL(base.databaseUrl);
  url.pathname = `/escrow_ledger_bench_${runId}`;
  const env = {
    ...process.env,
    // Test mode: no repeatable jobs (settlement, sweeps, daily fetch) run beside the benchmark.
    NODE_ENV: 'test',
    LOG_LEVEL: 'warn',
    DATABASE_URL: url.toString(),
    QUEUE_PREFIX: `escrow_bench_${runId}`,
  };
  const { config } = loadConfig(env);
  const file = join(tmpdir(), `bench-reconcile-${runId}.${format === 'csv' ? 'csv' : 'xml'}`);
  log(`bench:reconcile: ${lines} lines, ${format}, database ${url.pathname.slice(1)}`);
  await prepareDatabase(config);
  try {
    const app = await NestFactory.createApplicationContext(BenchModule.forRoot(config), {
      logger: ['error', 'warn'],
    });
    let accountNo: string;
    try {
      const dataSource = app.get(DataSource);
      const started = Date.now();
      accountNo = (await seed(dataSource, lines)).accountNo;
      log(`seeded ${lines} ledger movements in ${seconds(Date.now() - started)}`);
      const entries = await movements(dataSource, accountNo);
      const body = format === 'csv' ? csv(entries) : camt053(accountNo, chinaDate(), entries);
      writeFileSync(file, body);
      log(`statement: ${lines} lines, ${mib(body.length)} (${body.length} bytes)`);
    } finally {
      await app.close();
    }

    const result = await runChild(env, [
      '--format',
      format,
      '--measure-file',
      file,
      '--account',
      accountNo,
    ]);
    const total = result.importMs + result.matchMs;
    log(`import (parse, check, store): ${seconds(result.importMs)}`);
    log(`matching (bull worker):       ${seconds(result.matchMs)}`);
    log(
      `total:                        ${seconds(total)} → ${Math.round((lines * 1000) / total)} lines/s`,
    );
    log(
      `memory: peak RSS of the service process ${mib(result.peakRss)} ` +
        `(${mib(result.baselineRss)} after boot with the file read, ` +
        `${mib(result.importPeakRss)} at most while importing)`,
    );
    log(
      `result: ${result.status}; matched ${result.matched}, bank-only ${result.bankOnly}, ` +
        `ledger-only ${result.ledgerOnly}, mismatched ${result.mismatched}; ` +
        `difference ${result.differenceFen ?? 'n/a'} fen`,
    );
    log(`by rule: ${result.byRule.map((r) => `${r.match_rule} ${r.n}`).join(', ')}`);
    if (result.timingsMs) log(`matching steps (ms): ${JSON.stringify(result.timingsMs)}`);
    const ok =
      result.status === 'reconciled' && total < 30_000 && result.peakRss < 512 * 1024 * 1024;
    log(ok ? 'OK: under 30 s and 512 MiB, zero difference' : 'NOT OK: see the figures above');
    process.exitCode = ok ? 0 : 1;
  } finally {
    rmSync(file, { force: true });
    if (!values['keep-database']) await dropDatabase(config.databaseUrl);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(
    `bench:reconcile failed: ${error instanceof Error ? error.stack : String(error)}\n`,
  );
  process.exit(1);
});
