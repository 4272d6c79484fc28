/**
 * The sandbox bank: a small HTTP service of its own (own port, own PostgreSQL database) that
 * stands in for the custody bank in development, tests and demos, the way a payment provider's
 * test mode does. Two faces:
 *
 * - `/bank/*`, the bank API the service's `HttpBankGateway` calls (the protocol a real
 *   host-to-host adapter is written against), subject to injected faults;
 * - `/sandbox/*`, for tests and people: pay an order's reference from a parent account, look at
 *   accounts and notifications, fetch statements, inject and clear faults.
 *
 * See API.md ("Sandbox bank") and the route comments below for the details of each fault.
 */
import { Logger } from '@nestjs/common';
import express, { NextFunction, Request, Response } from 'express';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool } from 'pg';
import { isIsoDate, chinaDate } from '../../common/time/china-date';
import { ensureDatabase } from '../../database/ensure-database';
import type { TransferInstruction } from '../bank-gateway';
import { FaultSettings, FaultState, FaultStore, GLOBAL_SCOPE, TIMEOUT_MODES } from './faults';
import {
  ACCOUNT_NO,
  BANK_CODE,
  BodyReader,
  FieldError,
  REFERENCE,
  END_TO_END_ID,
  SandboxProblem,
  notFound,
  problemHandler,
  validationFailed,
} from './http-problems';
import { NotificationOutbox } from './notification-outbox';
import { SandboxBook } from './sandbox-book';
import { createSandboxSchema } from './schema';
import {
  SandboxBank,
  SandboxBankLogger,
  SandboxBankOptions,
  maskAccount,
} from './sandbox-bank.types';
import { renderCamt053, renderCsv } from './statements';

export type { SandboxBank, SandboxBankOptions } from './sandbox-bank.types';

const DEFAULT_HANG_MS = 180_000;
const MAX_STATEMENT_DAYS = 366;
const FAULT_COUNT_MAX = 1_000;

type Reply = { status: number; json: unknown } | { status: number; type: string; text: string };

interface RouteContext {
  book: SandboxBook;
  faults: FaultStore;
  logger: SandboxBankLogger;
  hangMs: number;
  isClosing: () => boolean;
}

/** Starts the sandbox bank: creates its database and tables if missing, then serves HTTP. */
export async function startSandboxBank(options: SandboxBankOptions): Promise<SandboxBank> {
  const logger = options.logger ?? new Logger('SandboxBank');
  await ensureDatabase(options.databaseUrl);
  const pool = new Pool({ connectionString: options.databaseUrl, max: 20 });
  // An idle client that loses its connection must not take the process down.
  pool.on('error', (error) => logger.warn(`sandbox bank database: ${error.message}`));
  try {
    await createSandboxSchema(pool);
  } catch (error) {
    await pool.end();
    throw error;
  }
  const faults = new FaultStore(pool);
  const outbox = new NotificationOutbox(pool, faults, {
    notifyUrl: options.notifyUrl,
    webhookSecret: options.webhookSecret,
    logger,
    retry: {
      initialDelayMs: options.notificationRetry?.initialDelayMs ?? 1_000,
      maxDelayMs: options.notificationRetry?.maxDelayMs ?? 60_000,
      attemptTimeoutMs: options.notificationRetry?.attemptTimeoutMs ?? 10_000,
    },
    pollIntervalMs: options.pollIntervalMs ?? 500,
  });
  const book = new SandboxBook(pool, faults, outbox, options.bankCode ?? 'SANDBOX');
  let closing = false;
  const app = createApp({
    book,
    faults,
    logger,
    hangMs: options.hangMs ?? DEFAULT_HANG_MS,
    isClosing: () => closing,
  });

  const host = options.host ?? '127.0.0.1';
  let server: Server;
  try {
    server = await new Promise<Server>((resolve, reject) => {
      const listening = app.listen(options.port, host, (error?: Error) =>
        error ? reject(error) : resolve(listening),
      );
    });
  } catch (error) {
    await pool.end();
    throw error;
  }
  outbox.start();
  const { port } = server.address() as AddressInfo;
  const reachable = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  const url = `http://${reachable.includes(':') ? `[${reachable}]` : reachable}:${port}`;
  logger.log(`sandbox bank listening on ${url}, notifying ${options.notifyUrl}`);

  return {
    url,
    close: async () => {
      if (closing) return;
      closing = true;
      await outbox.stop();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Hanging `timeoutNext` calls and idle keep-alive sockets would hold close() open.
        server.closeAllConnections();
      });
      await pool.end();
    },
  };
}

function createApp(context: RouteContext): express.Express {
  const { book, faults } = context;
  const app = express();
  app.disable('x-powered-by');
  app.use(express.json({ limit: '64kb' }));

  app.get('/health', (_req, res) => {
    res.json({ status: 'ok' });
  });

  // ---- Customer-facing: tests and people ----------------------------------------------------

  /** A parent pays into a custody account; unknown accounts are opened on the way. */
  app.post('/sandbox/payments', async (req, res) => {
    const body = new BodyReader(req.body).only([
      'payerAccount',
      'accountNo',
      'amountFen',
      'reference',
      'remittanceInfo',
    ]);
    const payer = body.object('payerAccount').only(['bankCode', 'accountNo', 'accountName']);
    const payerAccount = {
      bankCode: payer.string('bankCode', BANK_CODE, 'a bank code (2-16 capitals or digits)'),
      accountNo: payer.string('accountNo', ACCOUNT_NO, 'an account number (6-34 digits)'),
      accountName: payer.name('accountName'),
    };
    const accountNo = body.string('accountNo', ACCOUNT_NO, 'an account number (6-34 digits)');
    const amountFen = body.fen('amountFen');
    const reference = body.string('reference', REFERENCE, 'printable ASCII, 1-128 characters');
    const remittanceInfo = body.optionalString(
      'remittanceInfo',
      /^\P{Cc}{1,140}$/u,
      'up to 140 characters, without control characters',
    );
    body.done();
    if (payerAccount.accountNo === accountNo) {
      throw validationFailed([
        { field: 'accountNo', message: 'must differ from the payer account' },
      ]);
    }
    const paid = await book.pay({ payerAccount, accountNo, amountFen, reference, remittanceInfo });
    context.logger.log(
      `payment ${paid.bankTxnId}: ${amountFen} fen from ${maskAccount(payerAccount.accountNo)} to ${maskAccount(accountNo)}`,
    );
    res.status(201).json(paid);
  });

  /** Opens an account under a name (or renames it), e.g. an institution's custody account. */
  app.put('/sandbox/accounts/:accountNo', async (req, res) => {
    const accountNo = accountParam(req);
    const body = new BodyReader(req.body).only(['bankCode', 'accountName']);
    const bankCode = body.string('bankCode', BANK_CODE, 'a bank code (2-16 capitals or digits)');
    const name = body.name('accountName');
    body.done();
    await book.upsertAccount({ accountNo, bankCode, name });
    res.json(await book.account(accountNo, 0));
  });

  app.get('/sandbox/accounts/:accountNo', async (req, res) => {
    const accountNo = accountParam(req);
    const limit = intQuery(req, 'limit', 1, 1_000) ?? 200;
    const view = await book.account(accountNo, limit);
    if (!view) throw notFound(`no account ${accountNo}`);
    res.json(view);
  });

  app.get('/sandbox/statements/:accountNo', async (req, res) => {
    send(res, await statementReply(book, req));
  });

  /**
   * Sets faults for one account (`accountNo`) or the whole bank; fields not given keep their
   * value. Counters count down per call. `timeoutMode` decides whether a timed-out call did its
   * work first (`after_work`, the default: the interesting case) or not (`before_work`).
   */
  app.post('/sandbox/faults', async (req, res) => {
    const body = new BodyReader(req.body).only([
      'accountNo',
      'failNext',
      'rejectNext',
      'delayMs',
      'timeoutNext',
      'timeoutMode',
      'duplicateNotifications',
    ]);
    const accountNo = body.optionalString(
      'accountNo',
      ACCOUNT_NO,
      'an account number (6-34 digits)',
    );
    const settings: FaultSettings = {
      failNext: body.optionalInt('failNext', 0, FAULT_COUNT_MAX),
      rejectNext: body.optionalInt('rejectNext', 0, FAULT_COUNT_MAX),
      timeoutNext: body.optionalInt('timeoutNext', 0, FAULT_COUNT_MAX),
      timeoutMode: body.optionalOneOf('timeoutMode', TIMEOUT_MODES),
      delayMs: body.optionalInt('delayMs', 0, 600_000),
      duplicateNotifications: body.optionalInt('duplicateNotifications', 0, FAULT_COUNT_MAX),
    };
    body.done();
    const state = await faults.set(accountNo ?? GLOBAL_SCOPE, settings);
    context.logger.log(`faults set for ${accountNo ? maskAccount(accountNo) : 'the whole bank'}`);
    res.json(faultView(state));
  });

  app.get('/sandbox/faults', async (_req, res) => {
    res.json({ items: (await faults.list()).map(faultView) });
  });

  /** Clears every fault, or only those of `?accountNo=`. */
  app.delete('/sandbox/faults', async (req, res) => {
    const accountNo = stringQuery(req, 'accountNo');
    if (accountNo !== undefined && !ACCOUNT_NO.test(accountNo)) {
      throw validationFailed([{ field: 'accountNo', message: 'must be an account number' }]);
    }
    await faults.clear(accountNo);
    res.status(204).end();
  });

  /** The notification outbox: what was sent to the service, how often, with what answer. */
  app.get('/sandbox/notifications', async (req, res) => {
    const accountNo = stringQuery(req, 'accountNo');
    const limit = intQuery(req, 'limit', 1, 1_000) ?? 100;
    res.json({ items: await book.notifications(accountNo, limit) });
  });

  // ---- Bank API: what HttpBankGateway calls ------------------------------------------------

  /** Executes a transfer instruction once per instruction id (201), or answers its result (200). */
  app.post('/bank/transfers', async (req, res) => {
    const instruction = readInstruction(req.body);
    await bankCall(
      context,
      res,
      [instruction.fromAccountNo, instruction.to.accountNo],
      async () => {
        const { result, created } = await book.submitTransfer(instruction);
        if (created) {
          context.logger.log(
            `transfer ${instruction.instructionId} ${result.state}: ${instruction.amountFen} fen ` +
              `from ${maskAccount(instruction.fromAccountNo)} to ${maskAccount(instruction.to.accountNo)}` +
              (result.reason ? ` (${result.reason})` : ''),
          );
        }
        return { status: created ? 201 : 200, json: result };
      },
    );
  });

  app.get('/bank/transfers/:instructionId', async (req, res) => {
    const instructionId = String(req.params.instructionId);
    if (!REFERENCE.test(instructionId)) throw notFound(`no instruction ${instructionId}`);
    await bankCall(context, res, await book.transferAccounts(instructionId), async () => {
      const result = await book.getTransfer(instructionId);
      if (!result) throw notFound(`no instruction ${instructionId}`);
      return { status: 200, json: result };
    });
  });

  app.get('/bank/statements/:accountNo', async (req, res) => {
    await bankCall(context, res, [accountParam(req)], () => statementReply(book, req));
  });

  app.use((req: Request, _res: Response, next: NextFunction) => {
    next(notFound(`no route ${req.method} ${req.path}`));
  });
  app.use(problemHandler(context.logger));
  return app;
}

/**
 * Runs a bank-API call under the faults of its accounts (and the bank's): first the configured
 * delay, then `failNext` (503, nothing done), then `timeoutNext` (hang instead of answering,
 * after or before doing the work), else the call itself.
 */
async function bankCall(
  context: RouteContext,
  res: Response,
  accountNos: string[],
  work: () => Promise<Reply>,
): Promise<void> {
  const scopes = [...new Set(accountNos), GLOBAL_SCOPE];
  const delayMs = await context.faults.delayFor(scopes);
  if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs).unref());
  if (context.isClosing()) throw unavailable('the sandbox bank is shutting down');
  if (await context.faults.take(scopes, 'fail_next')) {
    context.logger.warn('bank call failed on purpose (failNext)');
    throw unavailable('failNext fault: try again later');
  }
  const timeout = await context.faults.take(scopes, 'timeout_next');
  if (!timeout) return send(res, await work());
  if (timeout.timeoutMode === 'after_work') {
    try {
      await work();
    } catch (error) {
      // The caller hears nothing either way.
      if (!(error instanceof SandboxProblem)) throw error;
    }
  }
  context.logger.warn(`bank call hangs on purpose (timeoutNext, ${timeout.timeoutMode})`);
  await hang(res, context.hangMs);
}

/** Holds the response until the client gives up, then drops the connection without an answer. */
function hang(res: Response, hangMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      res.socket?.destroy();
      resolve();
    }, hangMs).unref();
    res.on('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

function send(res: Response, reply: Reply): void {
  if ('json' in reply) res.status(reply.status).json(reply.json);
  else res.status(reply.status).type(reply.type).send(reply.text);
}

const unavailable = (detail: string) =>
  new SandboxProblem(503, 'BANK_UNAVAILABLE', 'The bank is unavailable', detail);

function readInstruction(source: unknown): TransferInstruction {
  const body = new BodyReader(source).only([
    'instructionId',
    'endToEndId',
    'fromAccountNo',
    'to',
    'amountFen',
    'purpose',
  ]);
  const to = body.object('to').only(['bankCode', 'accountNo', 'accountName']);
  const instruction: TransferInstruction = {
    instructionId: body.string('instructionId', REFERENCE, 'printable ASCII, 1-128 characters'),
    endToEndId: body.string('endToEndId', END_TO_END_ID, 'ISO 20022 Max35Text, printable ASCII'),
    fromAccountNo: body.string('fromAccountNo', ACCOUNT_NO, 'an account number (6-34 digits)'),
    to: {
      bankCode: to.string('bankCode', BANK_CODE, 'a bank code (2-16 capitals or digits)'),
      accountNo: to.string('accountNo', ACCOUNT_NO, 'an account number (6-34 digits)'),
      accountName: to.name('accountName'),
    },
    amountFen: body.fen('amountFen'),
    purpose: body.oneOf('purpose', ['settlement', 'refund'] as const),
  };
  body.done();
  if (instruction.fromAccountNo === instruction.to.accountNo) {
    throw validationFailed([{ field: 'to.accountNo', message: 'must differ from fromAccountNo' }]);
  }
  return instruction;
}

async function statementReply(book: SandboxBook, req: Request): Promise<Reply> {
  const accountNo = accountParam(req);
  const today = chinaDate();
  const from = stringQuery(req, 'from') ?? today;
  const to = stringQuery(req, 'to') ?? from;
  const format = stringQuery(req, 'format') ?? 'camt053';
  const errors: FieldError[] = [];
  if (!isIsoDate(from)) errors.push({ field: 'from', message: 'must be a date YYYY-MM-DD' });
  if (!isIsoDate(to)) errors.push({ field: 'to', message: 'must be a date YYYY-MM-DD' });
  if (format !== 'camt053' && format !== 'csv') {
    errors.push({ field: 'format', message: 'must be camt053 or csv' });
  }
  if (errors.length === 0) {
    const days = (Date.parse(to) - Date.parse(from)) / 86_400_000;
    if (days < 0) errors.push({ field: 'to', message: 'must not be before from' });
    if (days >= MAX_STATEMENT_DAYS) {
      errors.push({ field: 'to', message: `at most ${MAX_STATEMENT_DAYS} days after from` });
    }
  }
  if (errors.length > 0) throw validationFailed(errors);
  const data = await book.statement(accountNo, from, to);
  if (!data) throw notFound(`no account ${accountNo}`);
  return format === 'csv'
    ? { status: 200, type: 'text/csv; charset=utf-8', text: renderCsv(data) }
    : { status: 200, type: 'application/xml; charset=utf-8', text: renderCamt053(data) };
}

function faultView(state: FaultState) {
  const { scope, ...settings } = state;
  return { accountNo: scope === GLOBAL_SCOPE ? null : scope, ...settings };
}

function accountParam(req: Request): string {
  const accountNo = String(req.params.accountNo);
  if (!ACCOUNT_NO.test(accountNo)) {
    throw validationFailed([
      { field: 'accountNo', message: 'must be an account number (6-34 digits)' },
    ]);
  }
  return accountNo;
}

function stringQuery(req: Request, name: string): string | undefined {
  const value = (req.query as Record<string, unknown>)[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') {
    throw validationFailed([{ field: name, message: 'must be given once' }]);
  }
  return value;
}

function intQuery(req: Request, name: string, min: number, max: number): number | undefined {
  const raw = stringQuery(req, name);
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value < min || value > max) {
    throw validationFailed([{ field: name, message: `must be an integer from ${min} to ${max}` }]);
  }
  return value;
}
