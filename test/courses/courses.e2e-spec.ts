/** The course catalogue over HTTP: creation under the guided price cap, and scoped reads. */
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { Institution } from '../../src/institutions/entities/institution.entity';
import { TestApp, createTestApp } from '../support/app';
import {
  createCourse,
  createInstitution,
  isoDate,
  newDistrictId,
  tokens,
} from '../support/factories';

describe('courses (HTTP)', () => {
  let t: TestApp;
  let dataSource: DataSource;
  let as: ReturnType<typeof tokens>;
  const district = newDistrictId();
  const otherDistrict = newDistrictId();
  let school: Institution;
  let neighbour: Institution;
  let faraway: Institution;
  let staff: string;

  beforeAll(async () => {
    t = await createTestApp();
    dataSource = t.app.get(DataSource);
    as = tokens(t.config);
    school = (await createInstitution(dataSource, { districtId: district })).institution;
    neighbour = (await createInstitution(dataSource, { districtId: district })).institution;
    faraway = (await createInstitution(dataSource, { districtId: otherDistrict })).institution;
    staff = as.institution(school, 'teacher-wang');
  });

  afterAll(() => t.close());

  // Class of 12 (band 10-34, 42 yuan), 45 minutes: the default cap is 4,620 fen.
  const course = (overrides: Record<string, unknown> = {}) => ({
    title: 'Grade 5 Mathematics',
    category: 'subject',
    lessonCount: 30,
    lessonMinutes: 45,
    classSize: 12,
    priceFen: 4_620,
    startsOn: '2030-09-01',
    endsOn: '2030-12-31',
    ...overrides,
  });

  const create = (body: unknown, token = staff, key?: string) => {
    const call = request(t.http).post('/v1/courses').set('Authorization', token);
    if (key) call.set('Idempotency-Key', key);
    return call.send(body as object);
  };
  const coursesOf = async (institutionId: string) => {
    const [{ n }] = await dataSource.query(
      'SELECT count(*)::int AS n FROM courses WHERE institution_id = $1',
      [institutionId],
    );
    return n as number;
  };

  describe('POST /v1/courses', () => {
    it("adds a subject course priced at the cap to the staff member's institution", async () => {
      const body = course({ title: '  Olympiad Maths  ' });
      const response = await create(body).expect(201);
      expect(response.body).toEqual({
        id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        institutionId: school.id,
        ...body,
        title: 'Olympiad Maths',
        createdAt: expect.stringMatching(/Z$/),
      });
      const [row] = await dataSource.query(
        'SELECT created_by, price_fen::text AS price FROM courses WHERE id = $1',
        [response.body.id],
      );
      expect(row).toEqual({ created_by: 'teacher-wang', price: '4620' });
    });

    it('refuses a subject course one fen above the cap with COURSE_PRICE_ABOVE_CAP and capFen', async () => {
      const before = await coursesOf(school.id);
      const response = await create(course({ priceFen: 4_621 })).expect(422);
      expect(response.body).toMatchObject({ code: 'COURSE_PRICE_ABOVE_CAP', capFen: 4_620 });
      expect(await coursesOf(school.id)).toBe(before);
    });

    it.each([
      [1, 45, 5_500],
      [9, 45, 5_500],
      [10, 45, 4_620],
      [34, 45, 4_620],
      [35, 45, 3_850],
      [12, 90, 9_240],
      [40, 40, 3_422],
    ])(
      'caps a class of %i with %i-minute lessons at %i fen',
      async (classSize, lessonMinutes, capFen) => {
        await create(course({ classSize, lessonMinutes, priceFen: capFen })).expect(201);
        const response = await create(
          course({ classSize, lessonMinutes, priceFen: capFen + 1 }),
        ).expect(422);
        expect(response.body.capFen).toBe(capFen);
      },
    );

    it('does not cap non-subject courses', async () => {
      const response = await create(course({ category: 'non_subject', priceFen: 30_000 })).expect(
        201,
      );
      expect(response.body.priceFen).toBe(30_000);
    });

    it("applies the district's current policy to the cap", async () => {
      const policyDistrict = newDistrictId();
      const { institution } = await createInstitution(dataSource, { districtId: policyDistrict });
      const token = as.institution(institution);
      await create(course({ priceFen: 4_620 }), token).expect(201);
      await request(t.http)
        .put(`/v1/districts/${policyDistrict}/policy`)
        .set('Authorization', as.operator(policyDistrict))
        .send({
          maxLessons: 60,
          maxSpanMonths: 3,
          maxAmountFen: 500_000,
          renewalThreshold: 20,
          priceCapBands: [
            { minClassSize: 1, maxClassSize: 20, baseFen: 4_000 },
            { minClassSize: 21, maxClassSize: null, baseFen: 3_000 },
          ],
          priceCapMarkupPercent: 0,
          standardLessonMinutes: 60,
          autoConfirmWorkingDays: null,
          refundSilenceWorkingDays: 5,
        })
        .expect(200);
      // 4000 × 100 × 45 / (100 × 60) = 3000
      const refused = await create(course({ priceFen: 3_001 }), token).expect(422);
      expect(refused.body).toMatchObject({ code: 'COURSE_PRICE_ABOVE_CAP', capFen: 3_000 });
      await create(course({ priceFen: 3_000 }), token).expect(201);
      // Other districts keep their own policy.
      await create(course({ priceFen: 4_620 })).expect(201);
    });

    it.each(['suspended', 'closed'] as const)(
      'refuses a %s institution with INSTITUTION_NOT_ACTIVE',
      async (status) => {
        const { institution } = await createInstitution(dataSource, {
          districtId: district,
          status,
        });
        const response = await create(course(), as.institution(institution)).expect(409);
        expect(response.body.code).toBe('INSTITUTION_NOT_ACTIVE');
        expect(await coursesOf(institution.id)).toBe(0);
      },
    );

    it('refuses a token for an institution that does not exist', async () => {
      const ghost = { ...school, id: randomUUID() };
      const response = await create(course(), as.institution(ghost)).expect(404);
      expect(response.body.code).toBe('INSTITUTION_NOT_FOUND');
    });

    it.each([
      ['an empty title', { title: '' }, 'title'],
      ['a blank title', { title: '   ' }, 'title'],
      ['a title of 201 characters', { title: 't'.repeat(201) }, 'title'],
      ['an unknown category', { category: 'math' }, 'category'],
      ['0 lessons', { lessonCount: 0 }, 'lessonCount'],
      ['501 lessons', { lessonCount: 501 }, 'lessonCount'],
      ['a fractional lesson count', { lessonCount: 1.5 }, 'lessonCount'],
      ['a lesson count as text', { lessonCount: '30' }, 'lessonCount'],
      ['9-minute lessons', { lessonMinutes: 9 }, 'lessonMinutes'],
      ['241-minute lessons', { lessonMinutes: 241 }, 'lessonMinutes'],
      ['a class of 0', { classSize: 0 }, 'classSize'],
      ['a class of 501', { classSize: 501 }, 'classSize'],
      ['a price of 0', { priceFen: 0 }, 'priceFen'],
      ['a price with decimals', { priceFen: 45.5 }, 'priceFen'],
      ['a price as text', { priceFen: '4500' }, 'priceFen'],
      ['an enormous price', { priceFen: 1e20 }, 'priceFen'],
      ['month 13', { startsOn: '2030-13-01' }, 'startsOn'],
      ['30 February', { startsOn: '2030-02-30' }, 'startsOn'],
      ['slashes in a date', { startsOn: '2030/09/01' }, 'startsOn'],
      ['a date with a time', { startsOn: '2030-09-01T00:00:00Z' }, 'startsOn'],
      ['a date as a number', { endsOn: 20301231 }, 'endsOn'],
      ['an end before the start', { startsOn: '2030-09-02', endsOn: '2030-09-01' }, 'endsOn'],
      ['a missing end', { endsOn: undefined }, 'endsOn'],
      ['an unknown field', { institutionId: randomUUID() }, 'institutionId'],
    ])('refuses %s with VALIDATION_FAILED and writes nothing', async (_, overrides, field) => {
      const before = await coursesOf(school.id);
      const response = await create(course(overrides)).expect(400);
      expect(response.body.code).toBe('VALIDATION_FAILED');
      expect(response.body.errors.map((e: { field: string }) => e.field)).toContain(field);
      expect(await coursesOf(school.id)).toBe(before);
    });

    it('accepts a course that starts and ends on the same day', async () => {
      await create(course({ startsOn: '2030-09-01', endsOn: '2030-09-01' })).expect(201);
    });

    it.each(['operator', 'auditor', 'parent'] as const)(
      'refuses the %s role with FORBIDDEN_ROLE',
      async (role) => {
        const token = role === 'parent' ? as.parent('p-1') : as[role](district);
        expect((await create(course(), token).expect(403)).body.code).toBe('FORBIDDEN_ROLE');
      },
    );

    it('creates the course once for a retry with the same Idempotency-Key', async () => {
      const key = randomUUID();
      const body = course({ title: `Retry ${key}` });
      const first = await create(body, staff, key).expect(201);
      const again = await create(body, staff, key).expect(201);
      expect(again.body).toEqual(first.body);
      const [{ n }] = await dataSource.query(
        'SELECT count(*)::int AS n FROM courses WHERE title = $1',
        [body.title],
      );
      expect(n).toBe(1);
    });
  });

  describe('GET /v1/courses', () => {
    let catalogue: Institution;
    let ids: string[];

    beforeAll(async () => {
      catalogue = (await createInstitution(dataSource, { districtId: district })).institution;
      ids = [];
      for (let n = 0; n < 5; n += 1) {
        ids.push((await createCourse(dataSource, catalogue.id, { title: `Course ${n}` })).id);
      }
      await createCourse(dataSource, neighbour.id);
    });

    const list = (token: string, query: Record<string, string>) =>
      request(t.http).get('/v1/courses').query(query).set('Authorization', token);

    const pageThrough = async (token: string, institutionId: string) => {
      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const response = await list(token, {
          institutionId,
          limit: '2',
          ...(cursor ? { cursor } : {}),
        }).expect(200);
        for (const item of response.body.items) expect(item.institutionId).toBe(institutionId);
        seen.push(...response.body.items.map((c: { id: string }) => c.id));
        cursor = response.body.nextCursor ?? undefined;
      } while (cursor);
      return seen;
    };

    it('pages through an institution’s courses for every role that may see them', async () => {
      for (const token of [
        as.parent('p-7'),
        as.institution(catalogue),
        as.auditor(district),
        as.operator(district),
      ]) {
        expect(await pageThrough(token, catalogue.id)).toEqual(ids);
      }
    });

    it('shows parents the courses of any district', async () => {
      const course = await createCourse(dataSource, faraway.id);
      const response = await list(as.parent('p-7'), { institutionId: faraway.id }).expect(200);
      expect(response.body.items.map((c: { id: string }) => c.id)).toContain(course.id);
    });

    it("refuses institution staff another institution's courses with FORBIDDEN_SCOPE", async () => {
      const response = await list(as.institution(neighbour), {
        institutionId: catalogue.id,
      }).expect(403);
      expect(response.body.code).toBe('FORBIDDEN_SCOPE');
      expect(response.body).not.toHaveProperty('items');
    });

    it.each(['auditor', 'operator'] as const)(
      'answers INSTITUTION_NOT_FOUND to an %s of another district',
      async (role) => {
        const response = await list(as[role](otherDistrict), {
          institutionId: catalogue.id,
        }).expect(404);
        expect(response.body.code).toBe('INSTITUTION_NOT_FOUND');
        expect(response.body).not.toHaveProperty('items');
      },
    );

    it('answers INSTITUTION_NOT_FOUND for an unknown institution', async () => {
      const response = await list(as.parent('p-7'), { institutionId: randomUUID() }).expect(404);
      expect(response.body.code).toBe('INSTITUTION_NOT_FOUND');
    });

    it.each([
      [{}, 'institutionId'],
      [{ institutionId: 'abc' }, 'institutionId'],
      [{ institutionId: randomUUID(), limit: '500' }, 'limit'],
      [{ institutionId: randomUUID(), cursor: '%%%' }, 'cursor'],
      [{ institutionId: randomUUID(), sort: 'price' }, 'sort'],
    ])('refuses %j with VALIDATION_FAILED', async (query, field) => {
      const response = await list(as.parent('p-7'), query).expect(400);
      expect(response.body.code).toBe('VALIDATION_FAILED');
      expect(response.body.errors.map((e: { field: string }) => e.field)).toContain(field);
    });
  });

  describe('GET /v1/courses/:id', () => {
    const get = (id: string, token: string) =>
      request(t.http).get(`/v1/courses/${id}`).set('Authorization', token);

    it('shows a course to a parent, its institution and the staff of its district', async () => {
      const created = await createCourse(dataSource, school.id, {
        startsOn: isoDate(3),
        endsOn: isoDate(90),
        priceFen: 4_000,
      });
      for (const token of [as.parent('p-9'), staff, as.auditor(district), as.operator(district)]) {
        const response = await get(created.id, token).expect(200);
        expect(response.body).toMatchObject({
          id: created.id,
          institutionId: school.id,
          priceFen: 4_000,
          startsOn: isoDate(3),
          endsOn: isoDate(90),
        });
      }
    });

    it('answers COURSE_NOT_FOUND outside the scope: another institution, another district', async () => {
      const created = await createCourse(dataSource, school.id);
      for (const token of [
        as.institution(neighbour),
        as.auditor(otherDistrict),
        as.operator(otherDistrict),
      ]) {
        const response = await get(created.id, token).expect(404);
        expect(response.body.code).toBe('COURSE_NOT_FOUND');
        expect(response.body).not.toHaveProperty('priceFen');
      }
    });

    it('answers 404 for an unknown id and 400 for a malformed one', async () => {
      expect((await get(randomUUID(), staff).expect(404)).body.code).toBe('COURSE_NOT_FOUND');
      expect((await get('nope', staff).expect(400)).body.code).toBe('VALIDATION_FAILED');
    });
  });
});
