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

/** Seeded lessons base .. base+size-1 (their ordinals). */
export interface LessonRange {
  base: number;
  size: number;
}

/**
 * The confirmations of seeded lessons, each once: those of `lessons` (0 .. lessons-1), then of
 * each range added, each range in random order (so across institutions and orders), with their
 * parents' tokens, signed as a range is added so that the load generator spends nothing on them.
 * `next` gives undefined once all have been given out; `left` says how many are still to come.
 */
export class ConfirmationSupply {
  private readonly ordinals: number[] = [];
  private readonly tokens = new Map<number, string>();
  private cursor = 0;

  constructor(
    private readonly options: {
      lessons: number;
      lessonsPerOrder: number;
      jwtSecret: string;
      idempotencyKey: (ordinal: number) => string;
    },
  ) {
    this.add({ base: 0, size: options.lessons });
  }

  get left(): number {
    return this.ordinals.length - this.cursor;
  }

  add(range: LessonRange): void {
    const pool = Int32Array.from({ length: range.size }, (_, i) => range.base + i);
    for (let i = pool.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [pool[i], pool[j]] = [pool[j], pool[i]];
    }
    for (const ordinal of pool) {
      const order = this.orderOf(ordinal);
      if (!this.tokens.has(order)) {
        const claims = { sub: parentIdOf(order), role: 'parent' } as const;
        this.tokens.set(
          order,
          `Bearer ${signToken(claims, this.options.jwtSecret, { expiresInSeconds: 7_200 })}`,
        );
      }
      this.ordinals.push(ordinal);
    }
  }

  readonly next = (): ConfirmRequest | undefined => {
    if (this.cursor >= this.ordinals.length) return undefined;
    const ordinal = this.ordinals[this.cursor++];
    return {
      ordinal,
      lessonId: lessonIdOf(ordinal),
      authorization: this.tokenOf(ordinal),
      idempotencyKey: this.options.idempotencyKey(ordinal),
    };
  };

  private tokenOf(ordinal: number): string {
    const token = this.tokens.get(this.orderOf(ordinal));
    if (token === undefined) throw new Error(`no token for the parent of lesson ${ordinal}`);
    return token;
  }

  private orderOf(ordinal: number): number {
    return Math.floor(ordinal / this.options.lessonsPerOrder);
  }
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
