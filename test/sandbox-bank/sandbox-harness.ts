/**
 * A sandbox bank for one test file: its own database (the run's database name plus a suffix,
 * dropped on close) and a local notification receiver that checks every signature and records
 * what arrives. Other test files that need a bank can use it too.
 */
import { plainToInstance } from 'class-transformer';
import request from 'supertest';
import { validate } from 'class-validator';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { IncomingMessage, Server, ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BankNotificationDto } from '../../src/bank/bank-notification.dto';
import { BANK_WINDOW_SECONDS, signBankPayload } from '../../src/bank/bank-signature';
import {
  SandboxBank,
  SandboxBankOptions,
  startSandboxBank,
} from '../../src/bank/sandbox/sandbox-bank';
import { freePort } from '../../src/common/net/free-port';
import { dropDatabase } from '../../src/database/ensure-database';
import { LedgerTestApp, closeWithBooksBalanced, createLedgerTestApp } from '../support/ledger-app';

export const TEST_WEBHOOK_SECRET = 'sandbox-test-webhook-secret-0123456789';

export interface ReceivedNotification {
  rawBody: string;
  body: Record<string, unknown>;
  timestamp: number;
  /** Signature and timestamp as the service's guard checks them. */
  signatureValid: boolean;
  /** What the service's DTO validation (whitelist, no unknown fields) says about the body. */
  dtoErrors: string[];
  status: number;
}

/** A stand-in for `POST /v1/bank/notifications`; answers 200, or the statuses queued in `answers`. */
export class NotificationReceiver {
  readonly received: ReceivedNotification[] = [];
  /** Statuses for the next requests, in order; 200 once empty. */
  answers: number[] = [];
  private server: Server | undefined;
  private port = 0;

  constructor(private readonly secret: string) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}/v1/bank/notifications`;
  }

  /** Listens (again) on the same port as before, or a free one the first time. */
  async start(): Promise<void> {
    const server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  /** Stops listening: deliveries now meet a refused connection. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  about(reference: string): ReceivedNotification[] {
    return this.received.filter((n) => n.body.reference === reference);
  }

  /** Waits until `count` notifications about `reference` arrived, and returns them. */
  async waitFor(reference: string, count = 1, timeoutMs = 10_000): Promise<ReceivedNotification[]> {
    await waitUntil(() => this.about(reference).length >= count, timeoutMs);
    return this.about(reference);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const rawBody = Buffer.concat(chunks).toString('utf8');
    const timestamp = Number(req.headers['x-bank-timestamp']);
    const expected = Buffer.from(signBankPayload(this.secret, timestamp, rawBody));
    const given = Buffer.from(String(req.headers['x-bank-signature'] ?? ''));
    const signatureValid =
      req.headers['content-type'] === 'application/json' &&
      Math.abs(Date.now() / 1000 - timestamp) <= BANK_WINDOW_SECONDS &&
      given.length === expected.length &&
      timingSafeEqual(given, expected);
    const body = JSON.parse(rawBody) as Record<string, unknown>;
    const errors = await validate(plainToInstance(BankNotificationDto, body), {
      whitelist: true,
      forbidNonWhitelisted: true,
    });
    const dtoErrors = errors.flatMap((e) => [
      ...Object.values(e.constraints ?? {}),
      ...(e.children ?? []).flatMap((c) => Object.values(c.constraints ?? {})),
    ]);
    const status = this.answers.shift() ?? 200;
    this.received.push({ rawBody, body, timestamp, signatureValid, dtoErrors, status });
    res.writeHead(status, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ outcome: status === 200 ? 'recorded' : 'refused' }));
  }
}

export async function waitUntil(
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** The run's test database name plus a suffix of this sandbox's own. */
export function sandboxDatabaseUrl(): string {
  const url = new URL(process.env.DATABASE_URL ?? '');
  if (!url.pathname.includes('escrow_ledger_test_')) {
    throw new Error('DATABASE_URL is not a test run database: run through jest (global-setup)');
  }
  url.pathname = `${url.pathname}_sbx_${randomBytes(3).toString('hex')}`;
  return url.toString();
}

export interface TestSandbox {
  bank: SandboxBank;
  receiver: NotificationReceiver;
  databaseUrl: string;
  close(): Promise<void>;
}

const silent = { log: () => undefined, warn: () => undefined, error: () => undefined };

/** A sandbox bank on a free port that notifies a local receiver, with quick retries. */
export async function startTestSandbox(
  overrides: Partial<SandboxBankOptions> = {},
): Promise<TestSandbox> {
  const receiver = new NotificationReceiver(overrides.webhookSecret ?? TEST_WEBHOOK_SECRET);
  await receiver.start();
  const databaseUrl = overrides.databaseUrl ?? sandboxDatabaseUrl();
  const bank = await startSandboxBank({
    port: 0,
    databaseUrl,
    notifyUrl: receiver.url,
    webhookSecret: TEST_WEBHOOK_SECRET,
    logger: silent,
    pollIntervalMs: 50,
    notificationRetry: { initialDelayMs: 100, maxDelayMs: 400, attemptTimeoutMs: 2_000 },
    ...overrides,
  });
  return {
    bank,
    receiver,
    databaseUrl,
    close: async () => {
      await bank.close();
      await receiver.stop();
      await dropDatabase(databaseUrl);
    },
  };
}

export interface ServiceWithSandbox {
  t: LedgerTestApp;
  sandbox: TestSandbox;
  /** Stops the bank, checks that the books balance, closes the service. */
  close(): Promise<void>;
}

/**
 * The service listening on loopback with a sandbox bank of its own: the bank notifies the service,
 * the service calls the bank (BANK_API_URL), with quick queue retries.
 */
export async function startServiceWithSandbox(): Promise<ServiceWithSandbox> {
  // Each side must know the other's address before it starts: reserve the service's port.
  const port = await freePort();
  const sandbox = await startTestSandbox({
    notifyUrl: `http://127.0.0.1:${port}/v1/bank/notifications`,
  });
  const t = await createLedgerTestApp({
    BANK_WEBHOOK_SECRET: TEST_WEBHOOK_SECRET,
    BANK_API_URL: sandbox.bank.url,
    QUEUE_BACKOFF_MS: '20',
  });
  await t.app.listen(port, '127.0.0.1');
  return {
    t,
    sandbox,
    close: async () => {
      await sandbox.close();
      await closeWithBooksBalanced(t);
    },
  };
}

/** A parent pays `order` into its institution's custody account at the sandbox bank. */
export async function payIntoCustody(
  sandbox: TestSandbox,
  custodyAccountNo: string,
  order: { amountFen: number; paymentReference: string },
  payerAccount: { bankCode: string; accountNo: string; accountName: string },
): Promise<{ bankTxnId: string }> {
  const response = await request(sandbox.bank.url)
    .post('/sandbox/payments')
    .send({
      payerAccount,
      accountNo: custodyAccountNo,
      amountFen: order.amountFen,
      reference: order.paymentReference,
    })
    .expect(201);
  return response.body as { bankTxnId: string };
}
