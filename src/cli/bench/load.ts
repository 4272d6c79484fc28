/**
 * Drives POST /v1/lessons/:id/confirm with autocannon: a fixed number of connections for a fixed
 * time, each request a lesson of its own with its parent's token and an Idempotency-Key. Latency
 * is recorded per response (autocannon's own histogram rounds to whole milliseconds).
 */
import autocannon, { Instance } from 'autocannon';
import { signToken } from '../../auth/token.service';
import { round } from './args';
import { lessonIdOf, parentIdOf } from './seed';

export interface ConfirmRequest {
  ordinal: number;
  lessonId: string;
  authorization: string;
  idempotencyKey: string;
}

/**
 * The confirmations of seeded lessons 0 .. lessons-1, each once, in random order (so across
 * institutions and orders), with their parents' tokens, signed up front so that the load
 * generator spends nothing on them; then undefined.
 */
export function confirmationSupply(options: {
  lessons: number;
  lessonsPerOrder: number;
  jwtSecret: string;
  idempotencyKey: (ordinal: number) => string;
}): () => ConfirmRequest | undefined {
  const pool = Int32Array.from({ length: options.lessons }, (_, i) => i);
  for (let i = pool.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [pool[i], pool[j]] = [pool[j], pool[i]];
  }
  const tokens = Array.from(
    { length: Math.ceil(options.lessons / options.lessonsPerOrder) },
    (_, order) =>
      `Bearer ${signToken({ sub: parentIdOf(order), role: 'parent' }, options.jwtSecret, { expiresInSeconds: 7_200 })}`,
  );
  let cursor = 0;
  return () => {
    if (cursor >= pool.length) return undefined;
    const ordinal = pool[cursor++];
    return {
      ordinal,
      lessonId: lessonIdOf(ordinal),
      authorization: tokens[Math.floor(ordinal / options.lessonsPerOrder)],
      idempotencyKey: options.idempotencyKey(ordinal),
    };
  };
}

export interface LoadResult {
  seconds: number;
  /** Lessons answered 200 with a confirmed lesson. */
  confirmed: number[];
  responses: number;
  /** Responses by status code. */
  statuses: Record<string, number>;
  /** Non-200 answers, 200s whose body was not a confirmed lesson, connection errors, timeouts. */
  errors: number;
  connectionErrors: number;
  timeouts: number;
  latencyMs: Percentiles;
  /** Every response's latency, in arrival order: percentiles over several runs pool these. */
  latenciesMs: number[];
  /** The supply of lessons ran dry before the time was up. */
  exhausted: boolean;
}

export interface Percentiles {
  p50: number;
  p97_5: number;
  p99: number;
  max: number;
  mean: number;
}

/** Nearest-rank percentiles of a sample, in its unit. */
export function percentiles(values: number[]): Percentiles {
  if (values.length === 0) return { p50: 0, p97_5: 0, p99: 0, max: 0, mean: 0 };
  const sorted = Float64Array.from(values).sort();
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)];
  let sum = 0;
  for (const value of sorted) sum += value;
  return {
    p50: round(at(0.5), 2),
    p97_5: round(at(0.975), 2),
    p99: round(at(0.99), 2),
    max: round(sorted[sorted.length - 1], 2),
    mean: round(sum / sorted.length, 2),
  };
}

const BODY = JSON.stringify({ rating: 5 });

export function confirmLoad(options: {
  baseUrl: string;
  connections: number;
  seconds: number;
  next: () => ConfirmRequest | undefined;
}): Promise<LoadResult> {
  const confirmed: number[] = [];
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  let wrongBodies = 0;
  let exhausted = false;
  let instance: Instance | undefined;

  return new Promise((resolve, reject) => {
    instance = autocannon(
      {
        url: options.baseUrl,
        connections: options.connections,
        duration: options.seconds,
        timeout: 30,
        requests: [
          {
            method: 'POST',
            setupRequest: (request, context) => {
              const confirmation = options.next();
              if (!confirmation) {
                // Out of lessons: end the run; this last request is a harmless read.
                exhausted = true;
                setImmediate(() => instance?.stop());
                context.ordinal = undefined;
                return { ...request, method: 'GET', path: '/health', body: '' };
              }
              context.ordinal = confirmation.ordinal;
              return {
                ...request,
                path: `/v1/lessons/${confirmation.lessonId}/confirm`,
                headers: {
                  authorization: confirmation.authorization,
                  'idempotency-key': confirmation.idempotencyKey,
                  'content-type': 'application/json',
                },
                body: BODY,
              };
            },
            onResponse: (status, body, context) => {
              if (typeof context.ordinal !== 'number') return;
              statuses[status] = (statuses[status] ?? 0) + 1;
              if (status !== 200) return;
              if (body.includes('"status":"confirmed"')) confirmed.push(context.ordinal);
              else wrongBodies += 1;
            },
          },
        ],
      },
      (error, result) => {
        if (error) {
          reject(error);
          return;
        }
        const responses = Object.values(statuses).reduce((sum, count) => sum + count, 0);
        const refused = responses - (statuses[200] ?? 0);
        const connectionErrors = result.errors - result.timeouts;
        resolve({
          seconds: result.duration,
          confirmed,
          responses,
          statuses,
          errors: refused + wrongBodies + result.errors,
          connectionErrors,
          timeouts: result.timeouts,
          latencyMs: percentiles(latencies),
          latenciesMs: latencies,
          exhausted,
        });
      },
    );
    instance.on('response', (_client, _status, _bytes, ms) => latencies.push(ms));
  });
}
