/**
 * GET /metrics: Prometheus text with process metrics, request durations under route templates
 * (never raw ids), confirmation batch sizes, queue depths and the ledger's unsealed transactions.
 */
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { EVENT_LOOP_SAMPLING_MS } from '../../src/metrics/event-loop';
import { LedgerTestApp, closeWithBooksBalanced, createLedgerTestApp } from '../support/ledger-app';
import { lessonCommand, minutesAgo, paidOrder, recordLesson } from '../lessons/support';

describe('operations: metrics', () => {
  let t: LedgerTestApp;

  beforeAll(async () => {
    t = await createLedgerTestApp();
  });

  afterAll(() => closeWithBooksBalanced(t));

  /** The value of one sample line (`name{labels} value`), or undefined. */
  function sample(text: string, name: string, labels = ''): number | undefined {
    const line = text
      .split('\n')
      .find((candidate) => candidate.startsWith(`${name}${labels ? `{${labels}}` : ''} `));
    return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
  }

  it('exposes process, HTTP, confirmation, queue and sealing metrics without a token', async () => {
    const { as, dataSource } = t;
    const paid = await paidOrder(dataSource);
    const recorded = await recordLesson(t, as.institution(paid.fixture.institution), {
      orderId: paid.order.id,
      deliveredAt: minutesAgo(30),
    }).expect(201);
    const lessonId = recorded.body.id as string;
    const confirm = () =>
      lessonCommand(t, as.parent(paid.order.parentId), `/v1/lessons/${lessonId}/confirm`);
    await confirm().expect(200);
    // Again: the second batch's statement confirms nothing, and it reads the lesson to say why.
    await confirm().expect(409);
    await request(t.http).get(`/v1/lessons/${randomUUID()}`).expect(401);
    await request(t.http).get('/no/such/route').expect(404);

    const response = await request(t.http).get('/metrics').expect(200);
    expect(response.headers['content-type']).toMatch(/^text\/plain;.*version=0\.0\.4/);
    const text = response.text;
    expect(sample(text, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
    // Each sample is the time between two ticks of the stated interval (the bench takes the
    // interval off), so their mean is at least about that. Not their minimum: on a busy machine
    // a tick that follows a late one can come several milliseconds early.
    expect(sample(text, 'nodejs_eventloop_lag_mean_seconds')).toBeGreaterThan(
      (0.8 * EVENT_LOOP_SAMPLING_MS) / 1000,
    );
    expect(
      sample(
        text,
        'http_request_duration_seconds_count',
        'method="POST",route="/v1/lessons/:id/confirm",status="200"',
      ),
    ).toBe(1);
    expect(
      sample(
        text,
        'http_request_duration_seconds_count',
        'method="GET",route="/v1/lessons/:id",status="401"',
      ),
    ).toBe(1);
    expect(
      sample(
        text,
        'http_request_duration_seconds_count',
        'method="GET",route="unmatched",status="404"',
      ),
    ).toBe(1);
    expect(text).not.toContain(lessonId);
    expect(sample(text, 'escrow_confirmation_batch_size_count')).toBe(2);
    expect(sample(text, 'escrow_confirmation_batch_size_sum')).toBe(1);
    // The confirmations' steps: each waited for its batch, each batch ran its statement, and the
    // second read its lesson after it.
    expect(sample(text, 'escrow_confirmation_wait_seconds_count')).toBe(2);
    expect(sample(text, 'escrow_confirmation_write_seconds_count')).toBe(2);
    expect(sample(text, 'escrow_confirmation_read_seconds_count')).toBe(1);
    expect(sample(text, 'escrow_confirmation_read_seconds_sum')).toBeGreaterThan(0);
    expect(sample(text, 'escrow_confirmation_write_seconds_sum')).toBeGreaterThan(0);
    expect(sample(text, 'escrow_queue_jobs', 'queue="bank-instructions",state="failed"')).toBe(0);
    expect(sample(text, 'escrow_ledger_unsealed_transactions')).toBeGreaterThanOrEqual(0);
  });
});
