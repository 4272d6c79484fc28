/** District policy over HTTP: defaults, versioned replacement with history, and scoping. */
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { DEFAULT_DISTRICT_POLICY } from '../../src/institutions/entities/district-policy.entity';
import { TestApp, createTestApp } from '../support/app';
import { createInstitution, newDistrictId, tokens } from '../support/factories';

const policy = (overrides: Record<string, unknown> = {}) => ({
  maxLessons: 48,
  maxSpanMonths: 4,
  maxAmountFen: 400_000,
  renewalThreshold: 10,
  priceCapBands: [
    { minClassSize: 1, maxClassSize: 5, baseFen: 6_000 },
    { minClassSize: 6, maxClassSize: 30, baseFen: 4_500 },
    { minClassSize: 31, maxClassSize: null, baseFen: 3_000 },
  ],
  priceCapMarkupPercent: 5,
  standardLessonMinutes: 40,
  autoConfirmWorkingDays: 15,
  refundSilenceWorkingDays: 7,
  ...overrides,
});

const bands = (...ranges: [number, number | null][]) =>
  ranges.map(([minClassSize, maxClassSize]) => ({ minClassSize, maxClassSize, baseFen: 4_000 }));

describe('district policy (HTTP)', () => {
  let t: TestApp;
  let dataSource: DataSource;
  let as: ReturnType<typeof tokens>;

  beforeAll(async () => {
    t = await createTestApp();
    dataSource = t.app.get(DataSource);
    as = tokens(t.config);
  });

  afterAll(() => t.close());

  const url = (districtId: string, suffix = '') => `/v1/districts/${districtId}/policy${suffix}`;
  const get = (districtId: string, token: string) =>
    request(t.http).get(url(districtId)).set('Authorization', token);
  const put = (districtId: string, body: unknown, token: string, key?: string) => {
    const call = request(t.http).put(url(districtId)).set('Authorization', token);
    if (key) call.set('Idempotency-Key', key);
    return call.send(body as object);
  };
  const history = (districtId: string, token: string, query: Record<string, string> = {}) =>
    request(t.http).get(url(districtId, '/history')).query(query).set('Authorization', token);
  const changesOf = async (districtId: string) => {
    const [{ n }] = await dataSource.query(
      'SELECT count(*)::int AS n FROM district_policy_changes WHERE district_id = $1',
      [districtId],
    );
    return n as number;
  };

  describe('GET /v1/districts/:districtId/policy', () => {
    it('answers the defaults as version 0 until an operator sets a policy', async () => {
      const district = newDistrictId();
      const response = await get(district, as.auditor(district)).expect(200);
      expect(response.body).toEqual({
        districtId: district,
        version: 0,
        ...DEFAULT_DISTRICT_POLICY,
        updatedBy: null,
        updatedAt: null,
      });
    });

    it('shows the policy to operators, auditors and institution staff of the district', async () => {
      const district = newDistrictId();
      const { institution } = await createInstitution(dataSource, { districtId: district });
      for (const token of [
        as.operator(district),
        as.auditor(district),
        as.institution(institution),
      ]) {
        expect((await get(district, token).expect(200)).body.districtId).toBe(district);
      }
    });

    it('refuses staff of another district with FORBIDDEN_SCOPE', async () => {
      const district = newDistrictId();
      await put(district, policy(), as.operator(district)).expect(200);
      const elsewhere = newDistrictId();
      const { institution } = await createInstitution(dataSource, { districtId: elsewhere });
      for (const token of [
        as.operator(elsewhere),
        as.auditor(elsewhere),
        as.institution(institution),
      ]) {
        const response = await get(district, token).expect(403);
        expect(response.body.code).toBe('FORBIDDEN_SCOPE');
        expect(response.body).not.toHaveProperty('maxLessons');
      }
    });

    it('refuses parents with FORBIDDEN_ROLE', async () => {
      const district = newDistrictId();
      expect((await get(district, as.parent('p-1')).expect(403)).body.code).toBe('FORBIDDEN_ROLE');
    });

    it('refuses a malformed district id with VALIDATION_FAILED', async () => {
      const response = await get('bad%20district', as.operator(newDistrictId())).expect(400);
      expect(response.body.code).toBe('VALIDATION_FAILED');
    });
  });

  describe('PUT /v1/districts/:districtId/policy', () => {
    it('stores version 1, then bumps the version on every change, and records who and when', async () => {
      const district = newDistrictId();
      const before = Date.now();
      const first = await put(district, policy(), as.operator(district, 'op-zhang')).expect(200);
      expect(first.body).toEqual({
        districtId: district,
        version: 1,
        ...policy(),
        updatedBy: 'op-zhang',
        updatedAt: expect.stringMatching(/Z$/),
      });
      expect(Date.parse(first.body.updatedAt)).toBeGreaterThanOrEqual(before - 1000);
      expect((await get(district, as.auditor(district)).expect(200)).body).toEqual(first.body);

      const changed = policy({ maxLessons: 30, autoConfirmWorkingDays: null });
      const second = await put(district, changed, as.operator(district, 'op-li')).expect(200);
      expect(second.body).toMatchObject({
        version: 2,
        maxLessons: 30,
        autoConfirmWorkingDays: null,
        updatedBy: 'op-li',
      });

      const listed = await history(district, as.auditor(district)).expect(200);
      expect(listed.body.nextCursor).toBeNull();
      expect(listed.body.items).toEqual([
        { version: 2, policy: changed, changedBy: 'op-li', changedAt: second.body.updatedAt },
        { version: 1, policy: policy(), changedBy: 'op-zhang', changedAt: first.body.updatedAt },
      ]);
    });

    it('answers a retry with the same Idempotency-Key without a second version', async () => {
      const district = newDistrictId();
      const key = randomUUID();
      const first = await put(district, policy(), as.operator(district), key).expect(200);
      const again = await put(district, policy(), as.operator(district), key).expect(200);
      expect(again.body).toEqual(first.body);
      expect(await changesOf(district)).toBe(1);
    });

    it('gives concurrent changes one version each', async () => {
      const district = newDistrictId();
      const responses = await Promise.all(
        Array.from({ length: 6 }, (_, n) =>
          put(district, policy({ maxLessons: 10 + n }), as.operator(district, `op-${n}`)),
        ),
      );
      expect(responses.map((r) => r.status)).toEqual(Array(6).fill(200));
      expect(responses.map((r) => r.body.version as number).sort()).toEqual([1, 2, 3, 4, 5, 6]);
      const listed = await history(district, as.operator(district)).expect(200);
      expect(listed.body.items.map((c: { version: number }) => c.version)).toEqual([
        6, 5, 4, 3, 2, 1,
      ]);
      const latest = responses.find((r) => r.body.version === 6)!;
      expect((await get(district, as.operator(district)).expect(200)).body).toEqual(latest.body);
    });

    it.each([
      ['a missing field', policy({ renewalThreshold: undefined }), 'renewalThreshold'],
      ['an unknown field', policy({ currency: 'CNY' }), 'currency'],
      ['maxLessons 0', policy({ maxLessons: 0 }), 'maxLessons'],
      ['maxLessons 501', policy({ maxLessons: 501 }), 'maxLessons'],
      ['maxLessons as text', policy({ maxLessons: '60' }), 'maxLessons'],
      ['maxSpanMonths 25', policy({ maxSpanMonths: 25 }), 'maxSpanMonths'],
      ['maxAmountFen 0', policy({ maxAmountFen: 0 }), 'maxAmountFen'],
      ['maxAmountFen with decimals', policy({ maxAmountFen: 5000.5 }), 'maxAmountFen'],
      ['maxAmountFen as text', policy({ maxAmountFen: '500000' }), 'maxAmountFen'],
      ['renewalThreshold -1', policy({ renewalThreshold: -1 }), 'renewalThreshold'],
      ['markup 101%', policy({ priceCapMarkupPercent: 101 }), 'priceCapMarkupPercent'],
      ['markup -1%', policy({ priceCapMarkupPercent: -1 }), 'priceCapMarkupPercent'],
      ['standard lesson 0', policy({ standardLessonMinutes: 0 }), 'standardLessonMinutes'],
      ['standard lesson 241', policy({ standardLessonMinutes: 241 }), 'standardLessonMinutes'],
      ['auto-confirm 0', policy({ autoConfirmWorkingDays: 0 }), 'autoConfirmWorkingDays'],
      ['auto-confirm 61', policy({ autoConfirmWorkingDays: 61 }), 'autoConfirmWorkingDays'],
      [
        'auto-confirm missing',
        policy({ autoConfirmWorkingDays: undefined }),
        'autoConfirmWorkingDays',
      ],
      ['refund silence 0', policy({ refundSilenceWorkingDays: 0 }), 'refundSilenceWorkingDays'],
      ['refund silence 61', policy({ refundSilenceWorkingDays: 61 }), 'refundSilenceWorkingDays'],
      ['no bands', policy({ priceCapBands: [] }), 'priceCapBands'],
      [
        'eleven bands',
        policy({
          priceCapBands: bands(
            ...Array.from({ length: 10 }, (_, n): [number, number] => [n + 1, n + 1]),
            [11, null],
          ),
        }),
        'priceCapBands',
      ],
      ['bands as an object', policy({ priceCapBands: { minClassSize: 1 } }), 'priceCapBands'],
      ['a band that is a number', policy({ priceCapBands: [1] }), 'priceCapBands.0'],
      [
        'bands not starting at 1',
        policy({ priceCapBands: bands([2, 9], [10, null]) }),
        'priceCapBands',
      ],
      ['bands with a gap', policy({ priceCapBands: bands([1, 9], [11, null]) }), 'priceCapBands'],
      ['overlapping bands', policy({ priceCapBands: bands([1, 9], [9, null]) }), 'priceCapBands'],
      ['descending bands', policy({ priceCapBands: bands([1, 9], [5, null]) }), 'priceCapBands'],
      [
        'a band ending before it starts',
        policy({ priceCapBands: bands([1, 0], [1, null]) }),
        'priceCapBands.0.maxClassSize',
      ],
      [
        'an open band in the middle',
        policy({ priceCapBands: bands([1, null], [10, null]) }),
        'priceCapBands',
      ],
      ['a closed last band', policy({ priceCapBands: bands([1, 9], [10, 34]) }), 'priceCapBands'],
      [
        'a band without maxClassSize',
        policy({ priceCapBands: [{ minClassSize: 1, baseFen: 5000 }] }),
        'priceCapBands.0.maxClassSize',
      ],
      [
        'a band price with decimals',
        policy({ priceCapBands: [{ minClassSize: 1, maxClassSize: null, baseFen: 50.5 }] }),
        'priceCapBands.0.baseFen',
      ],
      [
        'an unknown field in a band',
        policy({ priceCapBands: [{ minClassSize: 1, maxClassSize: null, baseFen: 5000, x: 1 }] }),
        'priceCapBands.0.x',
      ],
    ])('refuses %s with VALIDATION_FAILED and changes nothing', async (_, body, field) => {
      const district = newDistrictId();
      const operator = as.operator(district);
      await put(district, policy(), operator).expect(200);
      const response = await put(district, body, operator).expect(400);
      expect(response.body.code).toBe('VALIDATION_FAILED');
      expect(response.body.errors.map((e: { field: string }) => e.field)).toContain(field);
      expect((await get(district, operator).expect(200)).body.version).toBe(1);
      expect(await changesOf(district)).toBe(1);
    });

    it('accepts a single open-ended band and auto-confirmation switched off', async () => {
      const district = newDistrictId();
      const body = policy({
        priceCapBands: bands([1, null]),
        autoConfirmWorkingDays: null,
        renewalThreshold: 0,
        priceCapMarkupPercent: 0,
      });
      const response = await put(district, body, as.operator(district)).expect(200);
      expect(response.body).toMatchObject(body);
    });

    it('refuses an operator of another district with FORBIDDEN_SCOPE and writes nothing', async () => {
      const district = newDistrictId();
      const response = await put(district, policy(), as.operator(newDistrictId())).expect(403);
      expect(response.body.code).toBe('FORBIDDEN_SCOPE');
      expect(await changesOf(district)).toBe(0);
      expect((await get(district, as.auditor(district)).expect(200)).body.version).toBe(0);
    });

    it('refuses auditors, institution staff and parents with FORBIDDEN_ROLE', async () => {
      const district = newDistrictId();
      const { institution } = await createInstitution(dataSource, { districtId: district });
      for (const token of [as.auditor(district), as.institution(institution), as.parent('p-1')]) {
        expect((await put(district, policy(), token).expect(403)).body.code).toBe('FORBIDDEN_ROLE');
      }
      expect(await changesOf(district)).toBe(0);
    });
  });

  describe('GET /v1/districts/:districtId/policy/history', () => {
    it('pages through the changes newest first', async () => {
      const district = newDistrictId();
      for (let n = 1; n <= 5; n += 1) {
        await put(district, policy({ maxLessons: n }), as.operator(district)).expect(200);
      }
      const versions: number[] = [];
      let cursor: string | undefined;
      do {
        const response = await history(district, as.auditor(district), {
          limit: '2',
          ...(cursor ? { cursor } : {}),
        }).expect(200);
        for (const change of response.body.items) {
          expect(change.policy.maxLessons).toBe(change.version);
          versions.push(change.version);
        }
        cursor = response.body.nextCursor ?? undefined;
      } while (cursor);
      expect(versions).toEqual([5, 4, 3, 2, 1]);
    });

    it('answers an empty history while the defaults apply', async () => {
      const district = newDistrictId();
      const response = await history(district, as.operator(district)).expect(200);
      expect(response.body).toEqual({ items: [], nextCursor: null });
    });

    it('refuses a cursor of another endpoint and a bad limit', async () => {
      const district = newDistrictId();
      const uuidCursor = Buffer.from(
        JSON.stringify(['2030-01-01T00:00:00.000000Z', randomUUID()]),
      ).toString('base64url');
      const queries: Record<string, string>[] = [{ cursor: uuidCursor }, { limit: '0' }];
      for (const query of queries) {
        const response = await history(district, as.operator(district), query).expect(400);
        expect(response.body.code).toBe('VALIDATION_FAILED');
      }
    });

    it('refuses another district with FORBIDDEN_SCOPE and institution staff with FORBIDDEN_ROLE', async () => {
      const district = newDistrictId();
      await put(district, policy(), as.operator(district)).expect(200);
      for (const token of [as.auditor(newDistrictId()), as.operator(newDistrictId())]) {
        const response = await history(district, token).expect(403);
        expect(response.body.code).toBe('FORBIDDEN_SCOPE');
        expect(response.body).not.toHaveProperty('items');
      }
      const { institution } = await createInstitution(dataSource, { districtId: district });
      expect((await history(district, as.institution(institution)).expect(403)).body.code).toBe(
        'FORBIDDEN_ROLE',
      );
    });
  });
});
