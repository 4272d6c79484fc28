/**
 * Prometheus metrics (DESIGN.md §7), in a registry of this application's own (so that two
 * applications in one process, as in the tests, do not share counters): Node's process metrics,
 * HTTP request durations by route, the sizes of confirmation batches and where a confirmation's
 * time goes (waiting for its batch, the batch's statement and read), and, read when scraped, the
 * jobs waiting in each queue and the ledger transactions not yet sealed.
 */
import { Injectable } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { getQueueToken } from '@nestjs/bull';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Queue } from 'bull';
import type { FastifyInstance } from 'fastify';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { DataSource } from 'typeorm';
import { countUnsealed } from '../audit/sealing/chain';
import { ALL_QUEUES } from '../queues/queues';
import { EVENT_LOOP_SAMPLING_MS } from './event-loop';

@Injectable()
export class MetricsService {
  readonly registry = new Registry();

  readonly httpDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP requests by method, route template and status, and how long they took',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  readonly confirmationBatchSize = new Histogram({
    name: 'escrow_confirmation_batch_size',
    help: 'Lesson confirmations committed together in one database transaction',
    buckets: [1, 2, 4, 8, 16, 32, 64],
    registers: [this.registry],
  });

  /**
   * Where a confirmation's time goes: waiting for its batch, then its batch's statement, then the
   * batch's read of the lessons the statement did not confirm, if any.
   */
  readonly confirmationWait = this.confirmationStep(
    'escrow_confirmation_wait_seconds',
    'How long a lesson confirmation waited for a batch to start (a retried one, again for its retry)',
  );

  readonly confirmationRead = this.confirmationStep(
    'escrow_confirmation_read_seconds',
    'How long a confirmation batch took to read the lessons its statement did not confirm (to answer each with its reason), failed reads included',
  );

  readonly confirmationWrite = this.confirmationStep(
    'escrow_confirmation_write_seconds',
    'How long the statement of a confirmation batch took, its commit and failed statements included',
  );

  readonly confirmationBatchFallbacks = new Counter({
    name: 'escrow_confirmation_batch_fallbacks_total',
    help: 'Confirmation batches whose statement, or the read after it, failed: the confirmations they had not answered ran again one at a time',
    registers: [this.registry],
  });

  readonly confirmationConflicts = new Counter({
    name: 'escrow_confirmation_conflicts_total',
    help: 'Lessons a confirmation batch statement left awaiting confirmation, confirmed again one at a time',
    registers: [this.registry],
  });

  /** A histogram of one step of a confirmation, in seconds. */
  private confirmationStep(name: string, help: string): Histogram {
    return new Histogram({
      name,
      help,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers: [this.registry],
    });
  }

  constructor(@InjectDataSource() dataSource: DataSource, moduleRef: ModuleRef) {
    collectDefaultMetrics({
      register: this.registry,
      eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLING_MS,
    });
    new Gauge({
      name: 'escrow_queue_jobs',
      help: 'Jobs in each queue by state (read from Redis when scraped)',
      labelNames: ['queue', 'state'] as const,
      registers: [this.registry],
      async collect() {
        this.reset();
        for (const name of ALL_QUEUES) {
          const queue = moduleRef.get<Queue>(getQueueToken(name), { strict: false });
          const counts = await queue.getJobCounts();
          for (const [state, count] of Object.entries(counts)) {
            this.set({ queue: name, state }, Number(count));
          }
        }
      },
    });
    new Gauge({
      name: 'escrow_ledger_unsealed_transactions',
      help: 'Committed ledger transactions not yet sealed into a block',
      registers: [this.registry],
      async collect() {
        this.set(await countUnsealed((text, params) => dataSource.query(text, params)));
      },
    });
  }

  /**
   * Times every request the server answers and records it under its route template
   * (`/v1/lessons/:id/confirm`), never the raw path, so that ids do not become label values; a
   * request no route matched counts as `unmatched`.
   */
  timeRequests(server: FastifyInstance): void {
    server.addHook('onResponse', (request, reply, done) => {
      const route = request.routeOptions.url;
      this.httpDuration.observe(
        {
          method: request.method,
          route: route === undefined || route.includes('*') ? 'unmatched' : route,
          status: String(reply.statusCode),
        },
        reply.elapsedTime / 1000,
      );
      done();
    });
  }
}

/** Runs `work` and observes how long it took in `histogram` (seconds), whether it succeeded or not. */
export async function timed<T>(histogram: Histogram, work: () => Promise<T>): Promise<T> {
  const done = histogram.startTimer();
  try {
    return await work();
  } finally {
    done();
  }
}
