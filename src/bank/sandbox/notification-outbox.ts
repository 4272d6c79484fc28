/**
 * Notifications the sandbox bank owes the service, written in the same transaction as the money
 * movement they report and delivered afterwards, signed, until the service answers 2xx. Each
 * attempt is logged and stored. An answer that retrying cannot change (a 4xx other than 408, 409,
 * 425 or 429) marks the notification rejected; everything else (network errors, timeouts, 5xx,
 * those four) is retried with exponential backoff, without limit, as a bank's notifier would.
 * Every attempt is signed afresh, so the timestamp is always inside the service's window.
 */
import type { Pool, PoolClient } from 'pg';
import type { BankNotificationDto } from '../bank-notification.dto';
import { signBankPayload } from '../bank-signature';
import { FaultStore, GLOBAL_SCOPE } from './faults';
import type { NotificationRetryOptions, SandboxBankLogger } from './sandbox-bank.types';

/** The exact body the service's `POST /v1/bank/notifications` accepts (no extra fields). */
export type NotificationBody = Pick<
  BankNotificationDto,
  'eventId' | 'type' | 'accountNo' | 'amountFen' | 'reference' | 'bankTxnId' | 'occurredAt'
> & {
  payerAccount?: { bankCode: string; accountNo: string; accountName: string };
  reason?: string;
};

interface DueRow {
  id: string;
  event_id: string;
  type: string;
  body: string;
  copies: number;
  delivered_count: number;
  attempts: number;
}

/** Statuses after which the same request may succeed later. */
const RETRYABLE_4XX = new Set([408, 409, 425, 429]);
const BATCH = 20;

export interface NotificationOutboxOptions {
  notifyUrl: string;
  webhookSecret: string;
  logger: SandboxBankLogger;
  retry: NotificationRetryOptions;
  pollIntervalMs: number;
}

export class NotificationOutbox {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = true;
  private readonly inFlight = new Set<AbortController>();

  constructor(
    private readonly pool: Pool,
    private readonly faults: FaultStore,
    private readonly options: NotificationOutboxOptions,
  ) {}

  /**
   * Queues a notification inside the caller's transaction. A `duplicateNotifications` fault on
   * the account (or the bank) makes it two deliveries of the same body.
   */
  async enqueue(client: PoolClient, body: NotificationBody): Promise<void> {
    const duplicate = await this.faults.take(
      [body.accountNo, GLOBAL_SCOPE],
      'duplicate_notifications',
      client,
    );
    await client.query(
      `INSERT INTO notifications (event_id, type, account_no, body, copies)
       VALUES ($1, $2, $3, $4, $5)`,
      [body.eventId, body.type, body.accountNo, JSON.stringify(body), duplicate ? 2 : 1],
    );
  }

  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  /** Delivers now rather than at the next poll: call after committing an enqueue. */
  kick(): void {
    if (this.stopped) return;
    if (this.running) this.again = true;
    else this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    for (const controller of this.inFlight) controller.abort();
    await this.running;
  }

  private schedule(delayMs: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.running = this.tick().finally(() => {
        this.running = undefined;
        if (this.stopped) return;
        const rerun = this.again;
        this.again = false;
        this.schedule(rerun ? 0 : this.options.pollIntervalMs);
      });
    }, delayMs);
  }

  private async tick(): Promise<void> {
    try {
      let due: DueRow[];
      do {
        due = await this.claimDue();
        await Promise.all(due.map((row) => this.deliver(row)));
      } while (due.length === BATCH && !this.stopped);
    } catch (error) {
      if (!this.stopped) this.options.logger.error(`notification outbox: ${String(error)}`);
    }
  }

  /**
   * Takes due notifications and pushes their next attempt past the time a delivery can take, so
   * that another sandbox process on the same database (SKIP LOCKED) does not send them as well.
   */
  private async claimDue(): Promise<DueRow[]> {
    const { attemptTimeoutMs } = this.options.retry;
    const { rows } = await this.pool.query<DueRow>(
      `WITH due AS (
         SELECT id FROM notifications
         WHERE status = 'pending' AND next_attempt_at <= now()
         ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)
       UPDATE notifications n
       SET next_attempt_at = now() + make_interval(secs => $2::double precision / 1000)
       FROM due WHERE n.id = due.id
       RETURNING n.id, n.event_id, n.type, n.body, n.copies, n.delivered_count, n.attempts`,
      [BATCH, 2 * attemptTimeoutMs + 5_000],
    );
    return rows;
  }

  /** Sends the copies still owed, one after the other; the first failure ends this round. */
  private async deliver(row: DueRow): Promise<void> {
    let delivered = row.delivered_count;
    let attempts = row.attempts;
    while (delivered < row.copies && !this.stopped) {
      attempts += 1;
      const outcome = await this.attempt(row, attempts);
      if (outcome.kind === 'delivered') {
        delivered += 1;
        await this.pool.query(
          `UPDATE notifications SET attempts = $2, delivered_count = $3, last_status = $4,
             last_error = NULL,
             status = CASE WHEN $3 >= copies THEN 'delivered' ELSE status END,
             delivered_at = CASE WHEN $3 >= copies THEN now() ELSE delivered_at END,
             next_attempt_at = now()
           WHERE id = $1`,
          [row.id, attempts, delivered, outcome.status],
        );
        continue;
      }
      if (outcome.kind === 'rejected') {
        await this.pool.query(
          `UPDATE notifications SET attempts = $2, status = 'rejected', last_status = $3,
             last_error = $4 WHERE id = $1`,
          [row.id, attempts, outcome.status, outcome.error],
        );
        return;
      }
      const { initialDelayMs, maxDelayMs } = this.options.retry;
      const waitMs = Math.min(maxDelayMs, initialDelayMs * 2 ** Math.min(attempts - 1, 30));
      await this.pool.query(
        `UPDATE notifications SET attempts = $2, last_status = $3, last_error = $4,
           next_attempt_at = now() + make_interval(secs => $5::double precision / 1000)
         WHERE id = $1`,
        [row.id, attempts, outcome.status ?? null, outcome.error, waitMs],
      );
      return;
    }
  }

  private async attempt(
    row: DueRow,
    attempt: number,
  ): Promise<
    | { kind: 'delivered'; status: number }
    | { kind: 'rejected'; status: number; error: string }
    | { kind: 'retry'; status?: number; error: string }
  > {
    const timestamp = Math.floor(Date.now() / 1000);
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), this.options.retry.attemptTimeoutMs);
    this.inFlight.add(controller);
    const started = Date.now();
    let status: number | undefined;
    let error: string | null = null;
    try {
      const response = await fetch(this.options.notifyUrl, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          'X-Bank-Timestamp': String(timestamp),
          'X-Bank-Signature': signBankPayload(this.options.webhookSecret, timestamp, row.body),
        },
        body: row.body,
        redirect: 'manual',
        signal: controller.signal,
      });
      status = response.status;
      const text = await response.text();
      if (status < 200 || status > 299) error = `HTTP ${status}: ${text.slice(0, 300)}`;
    } catch (failure) {
      error = controller.signal.aborted ? 'timed out' : describe(failure);
    } finally {
      clearTimeout(timer);
      this.inFlight.delete(controller);
    }
    const durationMs = Date.now() - started;
    await this.pool.query(
      `INSERT INTO notification_attempts (notification_id, status_code, error, duration_ms)
       VALUES ($1, $2, $3, $4)`,
      [row.id, status ?? null, error, durationMs],
    );
    const what = `notification ${row.event_id} (${row.type}) attempt ${attempt}`;
    if (error === null && status !== undefined) {
      this.options.logger.log(`${what}: delivered, HTTP ${status} in ${durationMs} ms`);
      return { kind: 'delivered', status };
    }
    if (status !== undefined && status >= 400 && status < 500 && !RETRYABLE_4XX.has(status)) {
      this.options.logger.warn(`${what}: rejected, not retried: ${error}`);
      return { kind: 'rejected', status, error: error ?? '' };
    }
    this.options.logger.warn(`${what}: failed, will retry: ${error}`);
    return { kind: 'retry', status, error: error ?? '' };
  }
}

function describe(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? String(error);
}
