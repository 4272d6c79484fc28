/**
 * The working-day calendar: operators maintain their district's holidays and make-up working
 * days over HTTP, and CalendarService counts working days over them with one query.
 */
import request from 'supertest';
import { DataSource } from 'typeorm';
import { CalendarService } from '../../src/calendar/calendar.service';
import { createInstitution, newDistrictId, tokens } from '../support/factories';
import { LedgerTestApp, closeWithBooksBalanced, createLedgerTestApp } from '../support/ledger-app';

describe('calendar', () => {
  let t: LedgerTestApp;
  let dataSource: DataSource;
  let as: ReturnType<typeof tokens>;

  beforeAll(async () => {
    t = await createLedgerTestApp();
    ({ dataSource, as } = t);
  });

  afterAll(() => closeWithBooksBalanced(t));

  const put = (districtId: string, day: string, body: object, token = as.operator(districtId)) =>
    request(t.http)
      .put(`/v1/districts/${districtId}/calendar/${day}`)
      .set('Authorization', token)
      .send(body);
  const remove = (districtId: string, day: string, token = as.operator(districtId)) =>
    request(t.http)
      .delete(`/v1/districts/${districtId}/calendar/${day}`)
      .set('Authorization', token);
  const list = (
    districtId: string,
    query: Record<string, string>,
    token = as.auditor(districtId),
  ) =>
    request(t.http)
      .get(`/v1/districts/${districtId}/calendar`)
      .query(query)
      .set('Authorization', token);

  const overridesOf = async (districtId: string) =>
    dataSource.query(
      `SELECT to_char(day, 'YYYY-MM-DD') AS day, kind, note FROM calendar_days
       WHERE district_id = $1 ORDER BY day`,
      [districtId],
    );

  /** National Day 2026: 1–7 October off, Sunday 20 September and Saturday 10 October worked. */
  async function nationalDay2026(districtId: string) {
    await put(districtId, '2026-09-20', { kind: 'workday', note: 'National Day make-up' }).expect(
      200,
    );
    for (let d = 1; d <= 7; d += 1) {
      await put(districtId, `2026-10-0${d}`, { kind: 'holiday', note: 'National Day' }).expect(200);
    }
    await put(districtId, '2026-10-10', { kind: 'workday', note: 'National Day make-up' }).expect(
      200,
    );
  }

  describe('over HTTP', () => {
    it('sets, lists, changes and clears a day', async () => {
      const districtId = newDistrictId();
      const set = await put(districtId, '2026-10-01', { kind: 'holiday', note: 'National Day' })
        .expect(200)
        .expect('Content-Type', /json/);
      expect(set.body).toMatchObject({
        districtId,
        day: '2026-10-01',
        kind: 'holiday',
        note: 'National Day',
        updatedBy: 'op-1',
      });
      expect(Date.parse(set.body.updatedAt)).not.toBeNaN();
      await put(districtId, '2026-10-10', { kind: 'workday' }).expect(200);

      const listed = await list(districtId, { from: '2026-10-01', to: '2026-10-31' }).expect(200);
      expect(listed.body.items.map((d: { day: string; kind: string }) => [d.day, d.kind])).toEqual([
        ['2026-10-01', 'holiday'],
        ['2026-10-10', 'workday'],
      ]);
      const outside = await list(districtId, { from: '2026-10-02', to: '2026-10-09' }).expect(200);
      expect(outside.body).toEqual({ items: [] });

      const changed = await put(
        districtId,
        '2026-10-10',
        { kind: 'holiday' },
        as.operator(districtId, 'op-2'),
      ).expect(200);
      expect(changed.body).toMatchObject({ kind: 'holiday', note: null, updatedBy: 'op-2' });

      await remove(districtId, '2026-10-10').expect(204);
      await remove(districtId, '2026-10-10').expect(204);
      expect(await overridesOf(districtId)).toEqual([
        { day: '2026-10-01', kind: 'holiday', note: 'National Day' },
      ]);
    });

    it('lets institution staff of the district read the calendar', async () => {
      const { institution } = await createInstitution(dataSource);
      await put(institution.districtId, '2026-05-01', { kind: 'holiday' }).expect(200);
      const listed = await list(
        institution.districtId,
        { from: '2026-01-01', to: '2026-12-31' },
        as.institution(institution),
      ).expect(200);
      expect(listed.body.items).toHaveLength(1);
    });

    it('lists a whole leap year, but not more', async () => {
      const districtId = newDistrictId();
      await list(districtId, { from: '2028-01-01', to: '2028-12-31' }).expect(200);
      const tooLong = await list(districtId, { from: '2026-01-01', to: '2027-01-02' }).expect(400);
      expect(tooLong.body.code).toBe('VALIDATION_FAILED');
      const backwards = await list(districtId, { from: '2026-02-01', to: '2026-01-01' }).expect(
        400,
      );
      expect(backwards.body.code).toBe('VALIDATION_FAILED');
    });
  });

  describe('authorization', () => {
    const ours = newDistrictId();
    const theirs = newDistrictId();

    beforeAll(async () => {
      await put(ours, '2026-10-01', { kind: 'holiday' }).expect(200);
    });

    it.each([
      [
        'another district’s operator setting a day',
        () => put(ours, '2026-10-02', { kind: 'holiday' }, as.operator(theirs)),
        'FORBIDDEN_SCOPE',
      ],
      [
        'another district’s operator clearing a day',
        () => remove(ours, '2026-10-01', as.operator(theirs)),
        'FORBIDDEN_SCOPE',
      ],
      [
        'another district’s auditor listing',
        () => list(ours, { from: '2026-10-01', to: '2026-10-31' }, as.auditor(theirs)),
        'FORBIDDEN_SCOPE',
      ],
      [
        'an auditor setting a day',
        () => put(ours, '2026-10-02', { kind: 'holiday' }, as.auditor(ours)),
        'FORBIDDEN_ROLE',
      ],
      [
        'a parent setting a day',
        () => put(ours, '2026-10-02', { kind: 'holiday' }, as.parent('p-1')),
        'FORBIDDEN_ROLE',
      ],
      [
        'an auditor clearing a day',
        () => remove(ours, '2026-10-01', as.auditor(ours)),
        'FORBIDDEN_ROLE',
      ],
      [
        'a parent listing',
        () => list(ours, { from: '2026-10-01', to: '2026-10-31' }, as.parent('p-1')),
        'FORBIDDEN_ROLE',
      ],
    ])('refuses %s', async (_what, call, code) => {
      const response = await call().expect(403);
      expect(response.body.code).toBe(code);
      expect(response.body.items).toBeUndefined();
      expect(await overridesOf(ours)).toEqual([{ day: '2026-10-01', kind: 'holiday', note: null }]);
    });

    it('refuses institution staff of another district', async () => {
      const { institution } = await createInstitution(dataSource, { districtId: theirs });
      const response = await list(
        ours,
        { from: '2026-10-01', to: '2026-10-31' },
        as.institution(institution),
      ).expect(403);
      expect(response.body.code).toBe('FORBIDDEN_SCOPE');
      await put(ours, '2026-10-02', { kind: 'holiday' }, as.institution(institution)).expect(403);
    });

    it('refuses a request without a token', async () => {
      await request(t.http)
        .put(`/v1/districts/${ours}/calendar/2026-10-02`)
        .send({ kind: 'holiday' })
        .expect(401);
      await request(t.http)
        .get(`/v1/districts/${ours}/calendar`)
        .query({ from: '2026-10-01', to: '2026-10-02' })
        .expect(401);
    });
  });

  describe('bad input', () => {
    const districtId = newDistrictId();

    it.each([
      ['day', '2026-02-30', { kind: 'holiday' }],
      ['day', '20261001', { kind: 'holiday' }],
      ['day', 'tomorrow', { kind: 'holiday' }],
      ['kind', '2026-10-01', { kind: 'weekend' }],
      ['kind', '2026-10-01', {}],
      ['note', '2026-10-01', { kind: 'holiday', note: 'x'.repeat(201) }],
      ['note', '2026-10-01', { kind: 'holiday', note: 3 }],
      ['halfDay', '2026-10-01', { kind: 'holiday', halfDay: true }],
    ])('refuses %s when setting %s to %j', async (field, day, body) => {
      const response = await put(districtId, day, body).expect(400);
      expect(response.body.code).toBe('VALIDATION_FAILED');
      expect(response.body.errors.map((e: { field: string }) => e.field)).toContain(field);
      expect(await overridesOf(districtId)).toEqual([]);
    });

    it('refuses a malformed district or day when clearing', async () => {
      const response = await request(t.http)
        .delete(`/v1/districts/${encodeURIComponent('d 1')}/calendar/2026-13-01`)
        .set('Authorization', as.operator('d1'))
        .expect(400);
      expect(response.body.errors.map((e: { field: string }) => e.field).sort()).toEqual([
        'day',
        'districtId',
      ]);
    });

    it.each([
      ['from', { to: '2026-10-01' }],
      ['to', { from: '2026-10-01' }],
      ['from', { from: '2026-1-1', to: '2026-10-01' }],
      ['to', { from: '2026-10-01', to: '2026-10-32' }],
      ['kind', { from: '2026-10-01', to: '2026-10-02', kind: 'holiday' }],
    ])('refuses %s when listing %j', async (field, query) => {
      const response = await list(districtId, query).expect(400);
      expect(response.body.errors.map((e: { field: string }) => e.field)).toContain(field);
    });
  });

  describe('working-day arithmetic (CalendarService)', () => {
    let calendar: CalendarService;
    const districtId = newDistrictId();

    beforeAll(async () => {
      calendar = t.app.get(CalendarService);
      await nationalDay2026(districtId);
    });

    it('reads the district’s overrides', async () => {
      const { manager } = dataSource;
      expect(await calendar.isWorkingDay(manager, districtId, '2026-10-01')).toBe(false);
      expect(await calendar.isWorkingDay(manager, districtId, '2026-09-20')).toBe(true);
      expect(await calendar.isWorkingDay(manager, districtId, '2026-09-19')).toBe(false);
      expect(await calendar.isWorkingDay(manager, districtId, '2026-09-21')).toBe(true);
      // Another district keeps National Day as an ordinary week.
      expect(await calendar.isWorkingDay(manager, newDistrictId(), '2026-10-01')).toBe(true);
    });

    it('counts working days over the holiday week in one query', async () => {
      const query = jest.spyOn(dataSource.manager, 'query');
      try {
        const { manager } = dataSource;
        expect(await calendar.addWorkingDays(manager, districtId, '2026-09-29', 2)).toBe(
          '2026-10-08',
        );
        expect(query).toHaveBeenCalledTimes(1);
        expect(await calendar.addWorkingDays(manager, districtId, '2026-09-15', 15)).toBe(
          '2026-10-10',
        );
        // 22 in September (Sunday 20 included), 18 in October (Saturday 10 included), 20 in November.
        expect(await calendar.addWorkingDays(manager, districtId, '2026-09-01', 60)).toBe(
          '2026-11-27',
        );
        expect(query).toHaveBeenCalledTimes(3);
        expect(await calendar.subtractWorkingDays(manager, districtId, '2026-10-08', 1)).toBe(
          '2026-09-30',
        );
      } finally {
        query.mockRestore();
      }
    });

    it('widens its window when holidays outlast it', async () => {
      const closed = newDistrictId();
      await dataSource.query(
        `INSERT INTO calendar_days (district_id, day, kind, updated_by)
         SELECT $1, d::date, 'holiday', 'test'
         FROM generate_series('2026-03-02'::date, '2026-06-30'::date, '1 day') d
         WHERE extract(isodow FROM d) < 6`,
        [closed],
      );
      expect(await calendar.addWorkingDays(dataSource.manager, closed, '2026-03-01', 1)).toBe(
        '2026-07-01',
      );
    });
  });
});
