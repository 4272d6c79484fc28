/**
 * The service's configuration: read once from the environment, validated, then passed around typed.
 * No other file reads process.env.
 */
import { Logger } from '@nestjs/common';

export type NodeEnv = 'development' | 'test' | 'production';

export interface AppConfig {
  nodeEnv: NodeEnv;
  port: number;
  databaseUrl: string;
  redisUrl: string;
  queuePrefix: string;
  /** First retry delay of a failed job; each further retry doubles it. */
  queueBackoffMs: number;
  /** Whether this process works the queues; off for an API that leaves them to `npm run worker`. */
  queueWorkers: boolean;
  logLevel: string;
  jwt: { secret: string; publicKey?: string };
  bankWebhookSecret: string;
  bank: {
    /** `sandbox`: the bundled sandbox bank (started by `npm start` outside production); `http`: a bank API at apiUrl. */
    mode: 'sandbox' | 'http';
    apiUrl: string;
    sandboxPort: number;
    /** Where the sandbox bank sends its signed notifications. */
    notifyUrl: string;
    sandboxDatabaseUrl: string;
    timeoutMs: number;
  };
  /** When the daily settlement runs: a cron expression in China time. */
  settlementCron: string;
  /** Hash of the sealed ledger blocks: SM3 (GB/T 32905) by default, or SHA-256. */
  ledgerHashAlgorithm: 'sm3' | 'sha256';
}

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    reason: string,
  ) {
    super(`${variable}: ${reason}`);
  }
}

type Env = Record<string, string | undefined>;

const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/escrow_ledger';
const DEV_JWT_SECRET = 'dev-only-jwt-secret-change-me';
const DEV_BANK_SECRET = 'dev-only-bank-webhook-secret-change-me';
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

function read(env: Env, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

function oneOf<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): T {
  const value = read(env, name) ?? fallback;
  if (!allowed.includes(value as T)) {
    throw new ConfigError(name, `must be one of ${allowed.join(', ')}, got "${value}"`);
  }
  return value as T;
}

function port(env: Env, name: string, fallback: number): number {
  const raw = read(env, name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value < 1 || value > 65535) {
    throw new ConfigError(name, `must be a TCP port (1-65535), got "${raw}"`);
  }
  return value;
}

function url(env: Env, name: string, protocols: string[], fallback: string): string {
  const value = read(env, name) ?? fallback;
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    throw new ConfigError(name, 'is not a valid URL');
  }
  if (!protocols.includes(parsed.protocol)) {
    throw new ConfigError(name, `must use ${protocols.join(' or ')}`);
  }
  return value;
}

/** A secret with a development default; production refuses to start without a real one. */
function secret(env: Env, name: string, nodeEnv: NodeEnv, devDefault: string, warnings: string[]) {
  const value = read(env, name);
  if (value !== undefined) {
    if (value.length < 16) throw new ConfigError(name, 'must be at least 16 characters');
    return value;
  }
  if (nodeEnv === 'production') throw new ConfigError(name, 'is required when NODE_ENV=production');
  warnings.push(`${name} is not set: using the development default, never use it in production`);
  return devDefault;
}

function positiveInt(env: Env, name: string, fallback: number, max: number): number {
  const raw = read(env, name);
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > max) {
    throw new ConfigError(name, `must be an integer from 1 to ${max}, got "${raw}"`);
  }
  return Number(raw);
}

function cron(env: Env, name: string, fallback: string): string {
  const value = read(env, name) ?? fallback;
  if (!/^(\S+\s+){4}\S+$/.test(value)) {
    throw new ConfigError(name, `must be a five-field cron expression, got "${value}"`);
  }
  return value;
}

function bankConfig(env: Env, nodeEnv: NodeEnv): AppConfig['bank'] {
  const mode = oneOf(
    env,
    'BANK_MODE',
    ['sandbox', 'http'],
    nodeEnv === 'production' ? 'http' : 'sandbox',
  );
  const sandboxPort = port(env, 'SANDBOX_BANK_PORT', 4100);
  const servicePort = port(env, 'PORT', 3000);
  if (mode === 'http' && read(env, 'BANK_API_URL') === undefined) {
    throw new ConfigError('BANK_API_URL', 'is required when BANK_MODE=http');
  }
  const database = new URL(
    url(env, 'DATABASE_URL', ['postgres:', 'postgresql:'], DEFAULT_DATABASE_URL),
  );
  database.pathname = `${database.pathname}_sandbox_bank`;
  return {
    mode,
    apiUrl: url(env, 'BANK_API_URL', ['http:', 'https:'], `http://127.0.0.1:${sandboxPort}`),
    sandboxPort,
    notifyUrl: url(
      env,
      'BANK_NOTIFY_URL',
      ['http:', 'https:'],
      `http://127.0.0.1:${servicePort}/v1/bank/notifications`,
    ),
    sandboxDatabaseUrl: url(
      env,
      'SANDBOX_BANK_DATABASE_URL',
      ['postgres:', 'postgresql:'],
      database.toString(),
    ),
    timeoutMs: positiveInt(env, 'BANK_TIMEOUT_MS', 10_000, 120_000),
  };
}

export function loadConfig(env: Env = process.env): { config: AppConfig; warnings: string[] } {
  const warnings: string[] = [];
  const nodeEnv = oneOf(env, 'NODE_ENV', ['development', 'test', 'production'], 'development');
  const publicKey = read(env, 'JWT_PUBLIC_KEY')?.replace(/\\n/g, '\n');
  if (publicKey !== undefined && !publicKey.includes('BEGIN PUBLIC KEY')) {
    throw new ConfigError('JWT_PUBLIC_KEY', 'must be a PEM-encoded public key');
  }
  const config: AppConfig = {
    nodeEnv,
    port: port(env, 'PORT', 3000),
    databaseUrl: url(env, 'DATABASE_URL', ['postgres:', 'postgresql:'], DEFAULT_DATABASE_URL),
    redisUrl: url(env, 'REDIS_URL', ['redis:', 'rediss:'], 'redis://127.0.0.1:6379'),
    queuePrefix: read(env, 'QUEUE_PREFIX') ?? 'escrow',
    queueBackoffMs: positiveInt(env, 'QUEUE_BACKOFF_MS', 2_000, 3_600_000),
    queueWorkers: oneOf(env, 'QUEUE_WORKERS', ['on', 'off'], 'on') === 'on',
    logLevel: oneOf(env, 'LOG_LEVEL', LOG_LEVELS, nodeEnv === 'test' ? 'silent' : 'info'),
    jwt: {
      secret:
        publicKey === undefined
          ? secret(env, 'JWT_SECRET', nodeEnv, DEV_JWT_SECRET, warnings)
          : (read(env, 'JWT_SECRET') ?? ''),
      publicKey,
    },
    bankWebhookSecret: secret(env, 'BANK_WEBHOOK_SECRET', nodeEnv, DEV_BANK_SECRET, warnings),
    bank: bankConfig(env, nodeEnv),
    settlementCron: cron(env, 'SETTLEMENT_CRON', '0 2 * * *'),
    ledgerHashAlgorithm: oneOf(env, 'LEDGER_HASH_ALGORITHM', ['sm3', 'sha256'], 'sm3'),
  };
  return { config, warnings };
}

/** Loads the configuration or ends the process with one line naming the bad variable. */
export function loadConfigOrExit(env: Env = process.env): AppConfig {
  try {
    const { config, warnings } = loadConfig(env);
    const logger = new Logger('Config');
    for (const warning of warnings) logger.warn(warning);
    return config;
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`Invalid configuration: ${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
}

export const APP_CONFIG = Symbol('APP_CONFIG');
