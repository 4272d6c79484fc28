/** Options and small shared helpers of the sandbox bank. */
/** Nest's `Logger` fits; tests pass a silent one. */
export interface SandboxBankLogger {
  log(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export interface NotificationRetryOptions {
  /** Wait before the second attempt; doubles with every failed attempt. */
  initialDelayMs: number;
  /** Longest wait between two attempts. */
  maxDelayMs: number;
  /** How long one delivery attempt may take before it counts as failed. */
  attemptTimeoutMs: number;
}

export interface SandboxBankOptions {
  /** 0 binds a free port; read it back from `url`. */
  port: number;
  /** Loopback by default: the sandbox has no authentication of its own. */
  host?: string;
  databaseUrl: string;
  /** The service's `POST /v1/bank/notifications`. */
  notifyUrl: string;
  webhookSecret: string;
  logger?: SandboxBankLogger;
  /** The sandbox's own bank code, given to accounts it opens without being told one. */
  bankCode?: string;
  notificationRetry?: Partial<NotificationRetryOptions>;
  /** How often the notification outbox looks for due deliveries when nothing wakes it. */
  pollIntervalMs?: number;
  /** How long a `timeoutNext` call hangs: longer than any client timeout (BANK_TIMEOUT_MS ≤ 120 s). */
  hangMs?: number;
}

export interface SandboxBank {
  /** Base URL, e.g. `http://127.0.0.1:4100`. */
  url: string;
  close(): Promise<void>;
}

const CHINA_OFFSET_MS = 8 * 3_600_000;

/** An instant as China writes it: `2026-11-22T10:15:00+08:00`. */
export function chinaDateTime(instant: Date): string {
  return `${new Date(instant.getTime() + CHINA_OFFSET_MS).toISOString().slice(0, 19)}+08:00`;
}

/** The instant a China date (YYYY-MM-DD) begins. */
export function chinaDayStart(date: string): Date {
  return new Date(`${date}T00:00:00+08:00`);
}

/** Logs name accounts by their last four digits only. */
export function maskAccount(accountNo: string): string {
  return `****${accountNo.slice(-4)}`;
}
