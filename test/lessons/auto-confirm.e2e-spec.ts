/**
 * Auto-confirmation (DESIGN.md rule 8, R-REL-03/05) against real PostgreSQL and Redis: a lesson
 * neither confirmed nor disputed by the N-th working day after its delivery is confirmed by the
 * system on the day after, in districts whose policy sets N, counting the district's calendar.
 *
 * The lessons were delivered around National Day 2024: 1–7 October off, Sunday 29 September and
 * Saturday 12 October worked instead.
 */
import { getQueueToken } from '@nestjs/bull';
import type { Queue } from 'bull';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { DistrictPolicyService } from '../../src/institutions/district-policy.service';
import {
  DEFAULT_DISTRICT_POLICY,
  DistrictPolicy,
} from '../../src/institutions/entities/district-policy.entity';
import {
  AUTO_CONFIRM_CRON,
  AUTO_CONFIRM_JOB_ID,
  AutoConfirmLessonsSchedule,
} from '../../src/lessons/auto-confirm-lessons.processor';
import { AutoConfirmLessons } from '../../src/lessons/usecases/auto-confirm-lessons';
import { JobName, QueueName } from '../../src/queues/queues';
import { createInstitution, newDistrictId, tokens } from '../support/factories';
import { LedgerTestApp, closeWithBooksBalanced, createLedgerTestApp } from '../support/ledger-app';
import {
  PaidOrder,
  booksOf,
  ledgerKindsOf,
  lessonCommand,
  lessonRow,
  paidOrder,
  recordLesson,
} from './support';

const COURSE = { startsOn: '2024-09-01', endsOn: '2024-12-31' };
const at = (chinaTime: string) => new Date(chinaTime);

async function waitUntil(condition: () => Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  for (const started = Date.now(); !(await condition());) {
    if (Date.now() - started > timeoutMs) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('auto-confirmation', () => {
  let t: LedgerTestApp;
  let dataSource: DataSource;
  let as: ReturnType<typeof tokens>;
  let autoConfirm: AutoConfirmLessons;

  beforeAll(async () => {
    t = await createLedgerTestApp();
    ({ dataSource, as } = t);
    autoConfirm = t.app.get(AutoConfirmLessons);
  });

  afterAll(() => closeWithBooksBalanced(t));

  /** A district whose policy confirms after `days` working days (null: off, as by default). */
  async function district(days: number | null, calendar: Record<string, string> = {}) {
    const districtId = newDistrictId();
    await dataSource.manager.insert(DistrictPolicy, {
      ...DEFAULT_DISTRICT_POLICY,
      districtId,
      version: 1,
      autoConfirmWorkingDays: days,
      updatedBy: 'test',
      updatedAt: new Date(),
    });
    for (const [day, kind] of Object.entries(calendar)) {
      await request(t.http)
        .put(`/v1/districts/${districtId}/calendar/${day}`)
        .set('Authorization', as.operator(districtId))
        .send({ kind })
        .expect(200);
    }
    return districtId;
  }

  async function orderIn(districtId: string): Promise<PaidOrder> {
    const fixture = await createInstitution(dataSource, { districtId });
    return paidOrder(dataSource, { fixture, course: COURSE });
  }

  /** A lesson recorded when it was delivered (`recordedLate` keeps today's recording time). */
  async function lesson(
    paid: PaidOrder,
    deliveredAt: string,
    recordedLate = false,
  ): Promise<string> {
    const response = await recordLesson(t, as.institution(paid.fixture.institution), {
      orderId: paid.order.id,
      deliveredAt,
    }).expect(201);
    const id = response.body.id as string;
    if (!recordedLate) {
      await dataSource.query('UPDATE lessons SET created_at = $2 WHERE id = $1', [id, deliveredAt]);
    }
    return id;
  }

  const statusOf = async (lessonId: string) => (await lessonRow(t, lessonId))?.status;

  describe('in a district with National Day on its calendar and N = 3', () => {
    let paid: PaidOrder;
    let offPaid: PaidOrder;
    let plainPaid: PaidOrder;
    let friday: string; // 27 Sep: 29 Sep, 30 Sep, 8 Oct → overdue from 9 Oct
    let monday: string; // 30 Sep: 8, 9, 10 Oct → overdue from 11 Oct
    let disputed: string; // 26 Sep, disputed: never
    let confirmed: string; // 25 Sep, confirmed by the parent
    let settingOff: string; // 27 Sep in a district without the setting: never
    let noCalendar: string; // 27 Sep, N = 3, no holidays: 30 Sep, 1, 2 Oct → overdue from 3 Oct

    beforeAll(async () => {
      const nationalDay: Record<string, string> = {
        '2024-09-29': 'workday',
        '2024-10-12': 'workday',
      };
      for (let d = 1; d <= 7; d += 1) nationalDay[`2024-10-0${d}`] = 'holiday';
      const withCalendar = await district(3, nationalDay);
      expect(
        (await t.app.get(DistrictPolicyService).get(dataSource.manager, withCalendar))
          .autoConfirmWorkingDays,
      ).toBe(3);
      paid = await orderIn(withCalendar);
      friday = await lesson(paid, '2024-09-27T10:00:00+08:00');
      monday = await lesson(paid, '2024-09-30T19:00:00+08:00');
      disputed = await lesson(paid, '2024-09-26T10:00:00+08:00');
      confirmed = await lesson(paid, '2024-09-25T10:00:00+08:00');
      const parent = as.parent(paid.order.parentId);
      await lessonCommand(t, parent, `/v1/lessons/${disputed}/dispute`, {
        reason: 'The teacher did not come.',
      }).expect(200);
      await lessonCommand(t, parent, `/v1/lessons/${confirmed}/confirm`).expect(200);

      offPaid = await orderIn(await district(null));
      settingOff = await lesson(offPaid, '2024-09-27T10:00:00+08:00');
      plainPaid = await orderIn(await district(3));
      noCalendar = await lesson(plainPaid, '2024-09-27T10:00:00+08:00');
    });

    it('leaves a lesson alone on its deadline day, holidays counted', async () => {
      await autoConfirm.run(at('2024-10-08T23:59:00+08:00'));
      expect(await statusOf(friday)).toBe('awaiting_confirmation');
      expect(await statusOf(monday)).toBe('awaiting_confirmation');
      // Without the holidays the deadline was 2 October.
      expect(await statusOf(noCalendar)).toBe('auto_confirmed');
    });

    it('confirms an overdue lesson the next day, recording the rule and releasing the fee', async () => {
      const before = await booksOf(t, paid);
      await autoConfirm.run(at('2024-10-09T00:01:00+08:00'));
      const row = await lessonRow(t, friday);
      expect(row).toMatchObject({
        status: 'auto_confirmed',
        confirmed_by: 'system',
        confirmation_rule: 'autoConfirmWorkingDays=3',
        rating: null,
      });
      expect(row?.settle_transaction_id).toEqual(expect.any(String));
      expect(await ledgerKindsOf(t, friday)).toEqual({ lesson_hold: 1, lesson_release: 1 });
      const fee = paid.order.lessonPriceFen;
      expect(await booksOf(t, paid)).toMatchObject({
        escrow: {
          postedFen: before.escrow.postedFen - fee,
          pendingDebitsFen: before.escrow.pendingDebitsFen - fee,
        },
        payable: { postedFen: before.payable.postedFen + fee },
      });
      const view = await request(t.http)
        .get(`/v1/lessons/${friday}`)
        .set('Authorization', as.parent(paid.order.parentId))
        .expect(200);
      expect(view.body).toMatchObject({
        status: 'auto_confirmed',
        confirmedBy: 'system',
        confirmationRule: 'autoConfirmWorkingDays=3',
        releasedAt: '2024-10-08T16:01:00.000Z',
      });
      expect(await statusOf(monday)).toBe('awaiting_confirmation');
    });

    it('counts days in China time and confirms nothing twice', async () => {
      // The Monday lesson is overdue from 11 October in China, which begins at 16:00 UTC on the 10th.
      await autoConfirm.run(new Date('2024-10-10T15:59:00Z'));
      expect(await statusOf(monday)).toBe('awaiting_confirmation');
      await autoConfirm.run(new Date('2024-10-10T16:00:00Z'));
      expect(await statusOf(monday)).toBe('auto_confirmed');
      const again = await autoConfirm.run(new Date('2024-10-10T16:00:00Z'));
      expect(again.confirmed).toBe(0);
      for (const id of [friday, monday, noCalendar]) {
        expect(await ledgerKindsOf(t, id)).toEqual({ lesson_hold: 1, lesson_release: 1 });
      }
    });

    it('never confirms a disputed lesson, nor one in a district without the setting', async () => {
      await autoConfirm.run(at('2024-12-31T12:00:00+08:00'));
      expect(await statusOf(disputed)).toBe('disputed');
      expect(await ledgerKindsOf(t, disputed)).toEqual({ lesson_hold: 1 });
      expect(await statusOf(settingOff)).toBe('awaiting_confirmation');
      expect(await ledgerKindsOf(t, settingOff)).toEqual({ lesson_hold: 1 });
    });

    it('leaves a lesson the parent confirmed as the parent confirmed it', async () => {
      expect(await lessonRow(t, confirmed)).toMatchObject({
        status: 'confirmed',
        confirmed_by: paid.order.parentId,
        confirmation_rule: null,
      });
      expect(await ledgerKindsOf(t, confirmed)).toEqual({ lesson_hold: 1, lesson_release: 1 });
    });
  });

  it('confirms at most the batch it is given per run, oldest first', async () => {
    const paid = await orderIn(await district(1));
    const older = await lesson(paid, '2024-09-02T10:00:00+08:00');
    const newer = await lesson(paid, '2024-09-03T10:00:00+08:00');
    const first = await autoConfirm.run(at('2024-09-20T10:00:00+08:00'), 1);
    expect(first.confirmed).toBe(1);
    expect([await statusOf(older), await statusOf(newer)]).toEqual([
      'auto_confirmed',
      'awaiting_confirmation',
    ]);
    await autoConfirm.run(at('2024-09-20T10:00:00+08:00'), 1);
    expect(await statusOf(newer)).toBe('auto_confirmed');
  });

  it('skips a lesson the parent disputed after the run picked it', async () => {
    const paid = await orderIn(await district(1));
    const picked = await lesson(paid, '2024-09-02T10:00:00+08:00');
    // The parent's dispute holds the row while the run selects the lesson and waits for it.
    const parent = dataSource.createQueryRunner();
    await parent.connect();
    try {
      await parent.startTransaction();
      await parent.query('SELECT id FROM lessons WHERE id = $1 FOR UPDATE', [picked]);
      const [{ pid }] = await parent.query('SELECT pg_backend_pid() AS pid');
      const running = autoConfirm.run(at('2024-09-20T10:00:00+08:00'));
      await waitUntil(async () => {
        const [{ waiting }] = await dataSource.query(
          'SELECT count(*)::int AS waiting FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))',
          [pid],
        );
        return waiting > 0;
      });
      await parent.query(
        `UPDATE lessons SET status = 'disputed', dispute_reason = 'No.', disputed_at = now()
         WHERE id = $1`,
        [picked],
      );
      await parent.commitTransaction();
      expect(await running).toMatchObject({ skipped: 1, failed: 0 });
    } finally {
      await parent.release();
    }
    expect(await statusOf(picked)).toBe('disputed');
    expect(await ledgerKindsOf(t, picked)).toEqual({ lesson_hold: 1 });
  });

  describe('through the queue', () => {
    let queue: Queue;

    beforeAll(() => {
      queue = t.app.get<Queue>(getQueueToken(QueueName.Lessons));
    });

    it('runs a one-off job end to end', async () => {
      const paid = await orderIn(await district(2));
      const overdue = await lesson(paid, '2024-09-02T10:00:00+08:00');
      const job = await queue.add(JobName.AutoConfirmLessons, {});
      const summary = await job.finished();
      expect(summary).toMatchObject({ failed: 0 });
      expect(summary.confirmed).toBeGreaterThanOrEqual(1);
      expect(await statusOf(overdue)).toBe('auto_confirmed');
      expect(await ledgerKindsOf(t, overdue)).toEqual({ lesson_hold: 1, lesson_release: 1 });
    });

    it('registers no repeatable job under test', async () => {
      expect(await queue.getRepeatableJobs()).toEqual([]);
    });

    it('registers one repeatable job every ten minutes, however often the app starts', async () => {
      const schedule = new AutoConfirmLessonsSchedule(queue, {
        ...t.config,
        nodeEnv: 'development',
      });
      try {
        schedule.onApplicationBootstrap();
        schedule.onApplicationBootstrap();
        // The schedule does not wait for Redis; give both registrations time to land.
        await waitUntil(async () => (await queue.getRepeatableJobs()).length > 0);
        await new Promise((resolve) => setTimeout(resolve, 100));
        const repeatable = await queue.getRepeatableJobs();
        expect(repeatable).toEqual([
          expect.objectContaining({
            name: JobName.AutoConfirmLessons,
            id: AUTO_CONFIRM_JOB_ID,
            cron: AUTO_CONFIRM_CRON,
          }),
        ]);
      } finally {
        for (const job of await queue.getRepeatableJobs()) {
          await queue.removeRepeatableByKey(job.key);
        }
      }
    });
  });
  it('counts from the recording when a lesson is recorded late', async () => {
    const late = await lesson(await orderIn(await district(3)), '2024-09-20T10:00:00+08:00', true);
    await autoConfirm.run(new Date(Date.now() + 86_400_000));
    expect(await statusOf(late)).toBe('awaiting_confirmation');
  });
});
