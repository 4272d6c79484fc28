/**
 * The institution registry over HTTP: registration (one transaction with bank and ledger
 * accounts), status changes, and scoped reads.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { INSTITUTION_ACCOUNT_CODES } from '../../src/ledger/chart-of-accounts';
import { createInstitution, newDistrictId, tokens } from '../support/factories';
import { LedgerTestApp, closeWithBooksBalanced, createLedgerTestApp } from '../support/ledger-app';

const accountNo = () => `62${Array.from(randomBytes(14), (b) => String(b % 10)).join('')}`;

describe('institutions (HTTP)', () => {
  let t: LedgerTestApp;
  let dataSource: DataSource;
  let as: ReturnType<typeof tokens>;
  const district = newDistrictId();
  const otherDistrict = newDistrictId();
  let operator: string;

  beforeAll(async () => {
    t = await createLedgerTestApp();
    ({ dataSource, as } = t);
    operator = as.operator(district);
  });

  afterAll(() => closeWithBooksBalanced(t));

  const registration = (overrides: Record<string, unknown> = {}) => ({
    name: 'Bright Minds Training Centre',
    licenseNo: `LIC-${randomUUID()}`,
    districtId: district,
    custodyAccount: {
      bankCode: 'ICBC',
      accountNo: accountNo(),
      accountName: 'Bright Minds custody',
    },
    settlementAccount: { bankCode: 'BOC', accountNo: accountNo(), accountName: 'Bright Minds' },
    ...overrides,
  });

  const register = (body: object, token = operator, key?: string) => {
    const call = request(t.http).post('/v1/institutions').set('Authorization', token);
    if (key) call.set('Idempotency-Key', key);
    return call.send(body);
  };

  const count = async (sql: string, params: unknown[]) => {
    const [{ n }] = await dataSource.query(`SELECT count(*)::int AS n FROM ${sql}`, params);
    return n as number;
  };
  const institutionsIn = (districtId: string) =>
    count('institutions WHERE district_id = $1', [districtId]);
  const withLicence = (licenseNo: string) =>
    count('institutions WHERE license_no = $1', [licenseNo]);

  describe('POST /v1/institutions', () => {
    it('registers the institution, its two bank accounts and its ledger accounts together', async () => {
      const body = registration();
      const response = await register(body).expect(201);
      expect(response.body).toEqual({
        id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        name: body.name,
        licenseNo: body.licenseNo,
        districtId: district,
        status: 'active',
        statusReason: null,
        custodyAccount: body.custodyAccount,
        settlementAccount: body.settlementAccount,
        createdAt: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/),
        updatedAt: expect.any(String),
      });
      const id = response.body.id as string;
      const [row] = await dataSource.query(
        'SELECT status, created_by FROM institutions WHERE id = $1',
        [id],
      );
      expect(row).toEqual({ status: 'active', created_by: 'op-1' });
      const banks = await dataSource.query(
        `SELECT kind, bank_code, account_no FROM institution_bank_accounts
         WHERE institution_id = $1 ORDER BY kind`,
        [id],
      );
      expect(banks).toEqual([
        { kind: 'custody', bank_code: 'ICBC', account_no: body.custodyAccount.accountNo },
        { kind: 'settlement', bank_code: 'BOC', account_no: body.settlementAccount.accountNo },
      ]);
      const ledger = await dataSource.query(
        `SELECT code, posted_debits::text AS d, posted_credits::text AS c
         FROM ledger_accounts WHERE institution_id = $1 ORDER BY code`,
        [id],
      );
      expect(ledger.map((a: { code: string }) => a.code)).toEqual(
        [...INSTITUTION_ACCOUNT_CODES].sort(),
      );
      expect(ledger.every((a: { d: string; c: string }) => a.d === '0' && a.c === '0')).toBe(true);
    });

    it('trims text before it checks and stores it', async () => {
      const body = registration({ name: '  Trimmed Academy  ' });
      const response = await register({ ...body, licenseNo: ` ${body.licenseNo} ` }).expect(201);
      expect(response.body.name).toBe('Trimmed Academy');
      expect(response.body.licenseNo).toBe(body.licenseNo);
    });

    const custody = () => registration().custodyAccount;
    it.each([
      ['a blank name', { name: '   ' }, 'name'],
      ['an empty name', { name: '' }, 'name'],
      ['a name of 201 characters', { name: 'x'.repeat(201) }, 'name'],
      ['a numeric name', { name: 42 }, 'name'],
      ['a licence of 65 characters', { licenseNo: 'L'.repeat(65) }, 'licenseNo'],
      ['a numeric licence', { licenseNo: 12345 }, 'licenseNo'],
      ['a malformed district', { districtId: 'no spaces!' }, 'districtId'],
      ['a missing custody account', { custodyAccount: undefined }, 'custodyAccount'],
      ['a custody account given as text', { custodyAccount: '6222020200112233' }, 'custodyAccount'],
      ['a custody account given as a list', { custodyAccount: [] }, 'custodyAccount'],
      ['a null settlement account', { settlementAccount: null }, 'settlementAccount'],
      [
        'a lower-case bank code',
        { custodyAccount: { ...custody(), bankCode: 'icbc' } },
        'custodyAccount.bankCode',
      ],
      [
        'an account number of 5 digits',
        { custodyAccount: { ...custody(), accountNo: '12345' } },
        'custodyAccount.accountNo',
      ],
      [
        'an account number of 35 digits',
        { custodyAccount: { ...custody(), accountNo: '1'.repeat(35) } },
        'custodyAccount.accountNo',
      ],
      [
        'an account number with letters',
        { custodyAccount: { ...custody(), accountNo: '6222ABC0200112233' } },
        'custodyAccount.accountNo',
      ],
      [
        'an account number sent as a number',
        { custodyAccount: { ...custody(), accountNo: 62220202001122 } },
        'custodyAccount.accountNo',
      ],
      [
        'an empty account name',
        { settlementAccount: { ...custody(), accountName: ' ' } },
        'settlementAccount.accountName',
      ],
      [
        'an unknown field in an account',
        { settlementAccount: { ...custody(), iban: 'CN00' } },
        'settlementAccount.iban',
      ],
      ['an unknown field', { status: 'active' }, 'status'],
    ])('refuses %s with VALIDATION_FAILED and writes nothing', async (_, overrides, field) => {
      const before = await institutionsIn(district);
      const body = registration(overrides);
      const response = await register(body).expect(400);
      expect(response.body.code).toBe('VALIDATION_FAILED');
      expect(response.body.errors.map((e: { field: string }) => e.field)).toContain(field);
      expect(await institutionsIn(district)).toBe(before);
      expect(await withLicence(String(body.licenseNo).trim())).toBe(0);
    });

    it('refuses a body that is not an object', async () => {
      const response = await register(['x']).expect(400);
      expect(response.body.code).toBe('VALIDATION_FAILED');
    });

    it('refuses registering in another district with FORBIDDEN_SCOPE and writes nothing', async () => {
      const response = await register(registration({ districtId: otherDistrict })).expect(403);
      expect(response.body.code).toBe('FORBIDDEN_SCOPE');
      expect(await institutionsIn(otherDistrict)).toBe(0);
    });

    it.each(['auditor', 'institution', 'parent'] as const)(
      'refuses the %s role with FORBIDDEN_ROLE',
      async (role) => {
        const { institution } = await createInstitution(dataSource, { districtId: district });
        const token =
          role === 'auditor'
            ? as.auditor(district)
            : role === 'institution'
              ? as.institution(institution)
              : as.parent('p-1');
        const body = registration();
        const response = await register(body, token).expect(403);
        expect(response.body.code).toBe('FORBIDDEN_ROLE');
        expect(await withLicence(body.licenseNo)).toBe(0);
      },
    );

    it('refuses a request without a token', async () => {
      await request(t.http).post('/v1/institutions').send(registration()).expect(401);
    });

    it('refuses a licence already registered with INSTITUTION_LICENSE_EXISTS', async () => {
      const first = registration();
      await register(first).expect(201);
      const second = registration({ licenseNo: first.licenseNo });
      const response = await register(second).expect(409);
      expect(response.body.code).toBe('INSTITUTION_LICENSE_EXISTS');
      expect(await withLicence(first.licenseNo)).toBe(1);
      expect(
        await count('institution_bank_accounts WHERE account_no = $1', [
          second.custodyAccount.accountNo,
        ]),
      ).toBe(0);
    });

    it.each([
      ['custody', 'custody'],
      ['custody', 'settlement'],
      ['settlement', 'custody'],
    ] as const)(
      "refuses another institution's %s account number as a %s account",
      async (taken, kind) => {
        const existing = await createInstitution(dataSource, { districtId: otherDistrict });
        const takenNo =
          taken === 'custody' ? existing.custodyAccountNo : existing.settlementAccountNo;
        const body = registration();
        const field = kind === 'custody' ? 'custodyAccount' : 'settlementAccount';
        const response = await register({
          ...body,
          [field]: { ...body[field], accountNo: takenNo },
        }).expect(409);
        expect(response.body.code).toBe('BANK_ACCOUNT_ALREADY_REGISTERED');
        expect(await withLicence(body.licenseNo)).toBe(0);
      },
    );

    it('refuses the same number for custody and settlement with BANK_ACCOUNTS_MUST_DIFFER', async () => {
      const body = registration();
      const response = await register({
        ...body,
        settlementAccount: { ...body.settlementAccount, accountNo: body.custodyAccount.accountNo },
      }).expect(422);
      expect(response.body.code).toBe('BANK_ACCOUNTS_MUST_DIFFER');
      expect(await withLicence(body.licenseNo)).toBe(0);
    });

    it('answers a retry with the same Idempotency-Key with the first institution', async () => {
      const key = randomUUID();
      const body = registration();
      const first = await register(body, operator, key).expect(201);
      const again = await register(body, operator, key).expect(201);
      expect(again.body).toEqual(first.body);
      expect(await withLicence(body.licenseNo)).toBe(1);
    });

    it('refuses the same Idempotency-Key with another body', async () => {
      const key = randomUUID();
      const body = registration();
      await register(body, operator, key).expect(201);
      const response = await register({ ...body, name: 'Another name' }, operator, key).expect(409);
      expect(response.body.code).toBe('IDEMPOTENCY_KEY_REUSED');
      expect(await withLicence(body.licenseNo)).toBe(1);
    });

    it('registers once for concurrent requests with one Idempotency-Key', async () => {
      const key = randomUUID();
      const body = registration();
      const responses = await Promise.all(
        Array.from({ length: 5 }, () => register(body, operator, key)),
      );
      expect(responses.map((r) => r.status)).toEqual(Array(5).fill(201));
      expect(new Set(responses.map((r) => r.body.id)).size).toBe(1);
      expect(await withLicence(body.licenseNo)).toBe(1);
    });

    it('registers a licence once when ten operators race for it', async () => {
      const licenseNo = `LIC-${randomUUID()}`;
      const responses = await Promise.all(
        Array.from({ length: 10 }, (_, n) =>
          register(registration({ licenseNo }), as.operator(district, `op-race-${n}`)),
        ),
      );
      const statuses = responses.map((r) => r.status).sort();
      expect(statuses).toEqual([201, ...Array(9).fill(409)]);
      for (const response of responses.filter((r) => r.status === 409)) {
        expect(response.body.code).toBe('INSTITUTION_LICENSE_EXISTS');
      }
      expect(await withLicence(licenseNo)).toBe(1);
      const [{ id }] = await dataSource.query('SELECT id FROM institutions WHERE license_no = $1', [
        licenseNo,
      ]);
      expect(await count('institution_bank_accounts WHERE institution_id = $1', [id])).toBe(2);
    });
  });

  describe('PATCH /v1/institutions/:id', () => {
    const patch = (id: string, body: object, token = operator, key?: string) => {
      const call = request(t.http).patch(`/v1/institutions/${id}`).set('Authorization', token);
      if (key) call.set('Idempotency-Key', key);
      return call.send(body);
    };
    const statusOf = async (id: string) => {
      const rows = await dataSource.query<{ status: string }[]>(
        'SELECT status FROM institutions WHERE id = $1',
        [id],
      );
      return rows[0].status;
    };

    it('suspends with a reason, then reactivates', async () => {
      const { institution } = await createInstitution(dataSource, { districtId: district });
      const suspended = await patch(institution.id, {
        status: 'suspended',
        reason: ' Unpaid rent complaints ',
      }).expect(200);
      expect(suspended.body).toMatchObject({
        id: institution.id,
        status: 'suspended',
        statusReason: 'Unpaid rent complaints',
      });
      expect(await statusOf(institution.id)).toBe('suspended');
      const active = await patch(institution.id, { status: 'active' }).expect(200);
      expect(active.body).toMatchObject({ status: 'active', statusReason: null });
    });

    it('closes for good: any later change is INSTITUTION_CLOSED', async () => {
      const { institution } = await createInstitution(dataSource, { districtId: district });
      await patch(institution.id, { status: 'closed', reason: 'Licence revoked' }).expect(200);
      for (const body of [
        { status: 'active' },
        { status: 'suspended', reason: 'x' },
        { status: 'closed', reason: 'again' },
      ]) {
        const response = await patch(institution.id, body).expect(409);
        expect(response.body.code).toBe('INSTITUTION_CLOSED');
      }
      expect(await statusOf(institution.id)).toBe('closed');
    });

    it('replays a retried closure instead of refusing it', async () => {
      const { institution } = await createInstitution(dataSource, { districtId: district });
      const key = randomUUID();
      const body = { status: 'closed', reason: 'Closed by the owner' };
      const first = await patch(institution.id, body, operator, key).expect(200);
      const again = await patch(institution.id, body, operator, key).expect(200);
      expect(again.body).toEqual(first.body);
    });

    it.each([
      ['suspending without a reason', { status: 'suspended' }, 'reason'],
      ['closing with a blank reason', { status: 'closed', reason: '   ' }, 'reason'],
      ['a reason of 501 characters', { status: 'suspended', reason: 'r'.repeat(501) }, 'reason'],
      ['an unknown status', { status: 'deleted', reason: 'x' }, 'status'],
      ['no status', { reason: 'x' }, 'status'],
      ['an unknown field', { status: 'suspended', reason: 'x', name: 'New' }, 'name'],
    ])('refuses %s with VALIDATION_FAILED', async (_, body, field) => {
      const { institution } = await createInstitution(dataSource, { districtId: district });
      const response = await patch(institution.id, body).expect(400);
      expect(response.body.code).toBe('VALIDATION_FAILED');
      expect(response.body.errors.map((e: { field: string }) => e.field)).toContain(field);
      expect(await statusOf(institution.id)).toBe('active');
    });

    it('answers INSTITUTION_NOT_FOUND for an institution of another district', async () => {
      const { institution } = await createInstitution(dataSource, { districtId: otherDistrict });
      const response = await patch(institution.id, { status: 'suspended', reason: 'x' }).expect(
        404,
      );
      expect(response.body.code).toBe('INSTITUTION_NOT_FOUND');
      expect(await statusOf(institution.id)).toBe('active');
    });

    it('answers INSTITUTION_NOT_FOUND for an unknown id and VALIDATION_FAILED for a malformed one', async () => {
      const unknown = await patch(randomUUID(), { status: 'active' }).expect(404);
      expect(unknown.body.code).toBe('INSTITUTION_NOT_FOUND');
      const malformed = await patch('not-a-uuid', { status: 'active' }).expect(400);
      expect(malformed.body.code).toBe('VALIDATION_FAILED');
    });

    it('refuses auditors and the institution itself with FORBIDDEN_ROLE', async () => {
      const { institution } = await createInstitution(dataSource, { districtId: district });
      for (const token of [as.auditor(district), as.institution(institution)]) {
        const response = await patch(institution.id, { status: 'active' }, token).expect(403);
        expect(response.body.code).toBe('FORBIDDEN_ROLE');
      }
    });
  });

  describe('GET /v1/institutions/:id', () => {
    const get = (id: string, token: string) =>
      request(t.http).get(`/v1/institutions/${id}`).set('Authorization', token);

    it('shows a parent any institution with its custody account but not its settlement account', async () => {
      const fixture = await createInstitution(dataSource, { districtId: otherDistrict });
      const response = await get(fixture.institution.id, as.parent('p-42')).expect(200);
      expect(response.body).toMatchObject({
        id: fixture.institution.id,
        status: 'active',
        custodyAccount: { accountNo: fixture.custodyAccountNo },
      });
      expect(response.body).not.toHaveProperty('settlementAccount');
      expect(response.body).not.toHaveProperty('statusReason');
      expect(JSON.stringify(response.body)).not.toContain(fixture.settlementAccountNo);
    });

    it('shows institution staff their own institution, and no other', async () => {
      const own = await createInstitution(dataSource, { districtId: district });
      const neighbour = await createInstitution(dataSource, { districtId: district });
      const token = as.institution(own.institution);
      const response = await get(own.institution.id, token).expect(200);
      expect(response.body.settlementAccount.accountNo).toBe(own.settlementAccountNo);
      const other = await get(neighbour.institution.id, token).expect(404);
      expect(other.body.code).toBe('INSTITUTION_NOT_FOUND');
      expect(JSON.stringify(other.body)).not.toContain(neighbour.custodyAccountNo);
    });

    it.each(['auditor', 'operator'] as const)(
      'shows the %s institutions of their district only',
      async (role) => {
        const inside = await createInstitution(dataSource, { districtId: district });
        const outside = await createInstitution(dataSource, { districtId: otherDistrict });
        const token = as[role](district);
        const response = await get(inside.institution.id, token).expect(200);
        expect(response.body.settlementAccount.accountNo).toBe(inside.settlementAccountNo);
        const other = await get(outside.institution.id, token).expect(404);
        expect(other.body.code).toBe('INSTITUTION_NOT_FOUND');
        expect(Object.keys(other.body)).not.toContain('custodyAccount');
      },
    );

    it('answers 404 for an unknown id and 400 for a malformed one', async () => {
      expect((await get(randomUUID(), operator).expect(404)).body.code).toBe(
        'INSTITUTION_NOT_FOUND',
      );
      expect((await get('42', operator).expect(400)).body.code).toBe('VALIDATION_FAILED');
    });
  });

  describe('GET /v1/institutions', () => {
    const listDistrict = newDistrictId();
    let ids: string[];

    beforeAll(async () => {
      for (let n = 0; n < 5; n += 1) {
        await createInstitution(dataSource, { districtId: listDistrict });
      }
      await createInstitution(dataSource, { districtId: otherDistrict });
      // Two rows share a timestamp and the others are a microsecond apart: the cursor must
      // keep microseconds and break ties by id.
      await dataSource.query(
        `UPDATE institutions SET created_at = '2030-01-01T00:00:00.000001Z'::timestamptz
           + (CASE WHEN n <= 2 THEN 0 ELSE n END) * interval '1 microsecond'
         FROM (SELECT id AS rid, row_number() OVER (ORDER BY id) AS n
               FROM institutions WHERE district_id = $1) numbered
         WHERE id = rid`,
        [listDistrict],
      );
      ids = (
        await dataSource.query(
          'SELECT id FROM institutions WHERE district_id = $1 ORDER BY created_at, id',
          [listDistrict],
        )
      ).map((row: { id: string }) => row.id);
    });

    const list = (token: string, query: Record<string, string> = {}) =>
      request(t.http).get('/v1/institutions').query(query).set('Authorization', token);

    it.each(['operator', 'auditor'] as const)(
      'pages through the district of an %s in creation order',
      async (role) => {
        const token = as[role](listDistrict);
        const seen: string[] = [];
        let cursor: string | undefined;
        const sizes: number[] = [];
        do {
          const response = await list(token, { limit: '2', ...(cursor ? { cursor } : {}) }).expect(
            200,
          );
          sizes.push(response.body.items.length);
          seen.push(...response.body.items.map((i: { id: string }) => i.id));
          for (const item of response.body.items) expect(item.districtId).toBe(listDistrict);
          cursor = response.body.nextCursor ?? undefined;
        } while (cursor);
        expect(sizes).toEqual([2, 2, 1]);
        expect(seen).toEqual(ids);
      },
    );

    it('answers one page of everything by default', async () => {
      const response = await list(as.operator(listDistrict)).expect(200);
      expect(response.body.items.map((i: { id: string }) => i.id)).toEqual(ids);
      expect(response.body.nextCursor).toBeNull();
    });

    it('answers an empty page for a district without institutions', async () => {
      const response = await list(as.auditor(newDistrictId())).expect(200);
      expect(response.body).toEqual({ items: [], nextCursor: null });
    });

    it.each([
      [{ limit: '0' }, 'limit'],
      [{ limit: '201' }, 'limit'],
      [{ limit: 'ten' }, 'limit'],
      [{ limit: '1.5' }, 'limit'],
      [{ cursor: 'not a cursor!' }, 'cursor'],
      [{ cursor: Buffer.from('["x","y"]').toString('base64url') }, 'cursor'],
      [{ cursor: Buffer.from('[1,2,3]').toString('base64url') }, 'cursor'],
      [
        {
          cursor: Buffer.from(`["2030-02-30T00:00:00.000000Z","${randomUUID()}"]`).toString(
            'base64url',
          ),
        },
        'cursor',
      ],
      [{ districtId: 'd-1' }, 'districtId'],
    ])('refuses %j with VALIDATION_FAILED', async (query, field) => {
      const response = await list(operator, query).expect(400);
      expect(response.body.code).toBe('VALIDATION_FAILED');
      expect(response.body.errors.map((e: { field: string }) => e.field)).toContain(field);
    });

    it('refuses parents and institution staff with FORBIDDEN_ROLE', async () => {
      const { institution } = await createInstitution(dataSource, { districtId: listDistrict });
      for (const token of [as.parent('p-1'), as.institution(institution)]) {
        expect((await list(token).expect(403)).body.code).toBe('FORBIDDEN_ROLE');
      }
    });
  });
});
