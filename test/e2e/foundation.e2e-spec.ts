/**
 * The foundation seen from HTTP: authentication, problem details, validation and idempotency.
 * A probe module (test-only routes) exercises the shared mechanisms the features build on.
 */
import { Body, Controller, Module, Post } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { IsString, MaxLength } from 'class-validator';
import jwt from 'jsonwebtoken';
import { randomUUID, generateKeyPairSync } from 'node:crypto';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { CurrentPrincipal, Roles } from '../../src/auth/auth.decorators';
import { Principal } from '../../src/auth/principal';
import { Idempotency } from '../../src/common/idempotency/idempotency-key.decorator';
import {
  IdempotencyService,
  IdempotentRequest,
} from '../../src/common/idempotency/idempotency.service';
import { IsFen } from '../../src/common/validation/decorators';
import { LedgerModule } from '../../src/ledger/ledger.module';
import { LedgerService } from '../../src/ledger/ledger.service';
import { TestApp, bearer, createTestApp, openConnection } from '../support/app';
import { expectBooksBalanced } from '../support/ledger-checks';
import { eventually } from '../support/waiting';

class ProbeTransferDto {
  @IsFen()
  amountFen!: number;

  @IsString()
  @MaxLength(20)
  memo!: string;
}

@Controller('probe')
class ProbeController {
  constructor(
    private readonly idempotency: IdempotencyService,
    private readonly ledger: LedgerService,
    @InjectDataSource() private readonly dataSource: DataSource,
  ) {}

  @Post('transfers')
  @Roles('operator')
  transfer(
    @Body() body: ProbeTransferDto,
    @CurrentPrincipal() principal: Principal,
    @Idempotency() idempotency?: IdempotentRequest,
  ) {
    return this.idempotency.execute(idempotency, async (manager) => {
      const institutionId = randomUUID();
      const accounts = await this.ledger.openInstitutionAccounts(manager, institutionId);
      const transactionId = await this.ledger.post(manager, {
        kind: 'manual_adjustment',
        reference: `probe:${randomUUID()}`,
        institutionId,
        transfers: [
          {
            debitAccountId: accounts.custody_cash,
            creditAccountId: accounts.suspense,
            amountFen: body.amountFen,
          },
        ],
        metadata: { memo: body.memo, by: principal.sub },
      });
      // Slow enough that concurrent duplicates really overlap.
      await manager.query('SELECT pg_sleep(0.05)');
      return { transactionId, amountFen: body.amountFen };
    });
  }

  @Post('crash')
  @Roles('operator')
  crash(): never {
    throw new Error('secret internal detail');
  }

  @Post('duplicate')
  @Roles('operator')
  async duplicate() {
    await this.dataSource
      .query(`INSERT INTO idempotency_keys (scope, key, fingerprint, status_code, response)
      VALUES ('probe', 'dup', 'x', 200, '{}') ON CONFLICT DO NOTHING`);
    await this.dataSource
      .query(`INSERT INTO idempotency_keys (scope, key, fingerprint, status_code, response)
      VALUES ('probe', 'dup', 'x', 200, '{}')`);
  }

  @Post('closed')
  closed() {
    return 'never';
  }

  @Post('bodiless')
  @Roles('operator')
  bodiless() {
    return { done: true };
  }

  /** Answers when the test lets it: a request in flight while the service shuts down. */
  @Post('held')
  @Roles('operator')
  async held() {
    held.arrivals += 1;
    await held.released;
    return { held: true };
  }
}

const held = (() => {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  return { arrivals: 0, release, released };
})();

@Module({ imports: [LedgerModule], controllers: [ProbeController] })
class ProbeModule {}

describe('foundation (HTTP)', () => {
  let t: TestApp;
  let operator: string;

  beforeAll(async () => {
    t = await createTestApp({}, [ProbeModule]);
    operator = bearer(t.config, { sub: 'op-1', role: 'operator', districtId: '510112' });
  });

  afterAll(async () => {
    await expectBooksBalanced(t.app.get(DataSource));
    await t.close();
  });

  const countProbeTransfers = async (memo: string) => {
    const [{ count }] = await t.app
      .get(DataSource)
      .query(
        `SELECT count(*)::int AS count FROM ledger_transactions WHERE metadata->>'memo' = $1`,
        [memo],
      );
    return count as number;
  };

  describe('health', () => {
    it('reports PostgreSQL and Redis up', async () => {
      const response = await request(t.http).get('/health').expect(200);
      expect(response.body).toEqual({ status: 'ok', checks: { database: 'up', redis: 'up' } });
      expect(response.headers['x-request-id']).toBeDefined();
    });

    it('answers 503 when Redis is unreachable', async () => {
      const down = await createTestApp({ REDIS_URL: 'redis://127.0.0.1:1' });
      try {
        const response = await request(down.http).get('/health').expect(503);
        expect(response.body.checks).toEqual({ database: 'up', redis: 'down' });
      } finally {
        await down.close();
      }
    });

    it('serves the OpenAPI document at /docs', async () => {
      const response = await request(t.http).get('/docs/openapi.json').expect(200);
      expect(Object.keys(response.body.paths)).toEqual(
        expect.arrayContaining(['/health', '/v1/me']),
      );
    });
  });

  describe('authentication', () => {
    const expectUnauthenticated = async (authorization?: string) => {
      const call = request(t.http).get('/v1/me');
      if (authorization) call.set('Authorization', authorization);
      const response = await call.expect(401);
      expect(response.headers['content-type']).toMatch(/application\/problem\+json/);
      expect(response.body).toMatchObject({ status: 401, code: 'UNAUTHENTICATED' });
      return response;
    };

    it('accepts a valid token and returns its principal', async () => {
      const response = await request(t.http)
        .get('/v1/me')
        .set('Authorization', bearer(t.config, { sub: 'p-1', role: 'parent' }))
        .expect(200);
      expect(response.body).toEqual({ sub: 'p-1', role: 'parent' });
    });

    it('refuses a request without a token', () => expectUnauthenticated());

    it('refuses alg none', async () => {
      const unsigned = jwt.sign({ sub: 'p-1', role: 'parent' }, '', {
        algorithm: 'none',
        expiresIn: 600,
      });
      await expectUnauthenticated(`Bearer ${unsigned}`);
    });

    it('refuses a wrong signature', async () => {
      const forged = jwt.sign({ sub: 'p-1', role: 'parent' }, 'x'.repeat(32), { expiresIn: 600 });
      await expectUnauthenticated(`Bearer ${forged}`);
    });

    it('refuses an expired token', async () => {
      const expired = jwt.sign(
        { sub: 'p-1', role: 'parent', exp: Math.floor(Date.now() / 1000) - 60 },
        t.config.jwt.secret,
      );
      const response = await expectUnauthenticated(`Bearer ${expired}`);
      expect(response.body.detail).toMatch(/expired/);
    });

    it('refuses a token without an expiry', async () => {
      const eternal = jwt.sign({ sub: 'p-1', role: 'parent' }, t.config.jwt.secret);
      await expectUnauthenticated(`Bearer ${eternal}`);
    });

    it('refuses an RS256 token when the service verifies HS256', async () => {
      const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const token = jwt.sign({ sub: 'p-1', role: 'parent' }, privateKey, {
        algorithm: 'RS256',
        expiresIn: 600,
      });
      await expectUnauthenticated(`Bearer ${token}`);
    });

    it.each([
      [{ role: 'parent' }],
      [{ sub: 'x', role: 'superuser' }],
      [{ sub: 'x', role: 'operator' }],
      [{ sub: 'x', role: 'institution', districtId: '510112' }],
      [{ sub: 'x', role: 'institution', districtId: '510112', institutionId: 'not-a-uuid' }],
    ])('refuses missing or bad claims %j', async (claims) => {
      const token = jwt.sign(claims, t.config.jwt.secret, { expiresIn: 600 });
      await expectUnauthenticated(`Bearer ${token}`);
    });

    it('verifies RS256 tokens with a configured public key', async () => {
      const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const rs = await createTestApp({
        JWT_PUBLIC_KEY: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
      });
      try {
        const good = jwt.sign({ sub: 'a-1', role: 'auditor', districtId: '510112' }, privateKey, {
          algorithm: 'RS256',
          expiresIn: 600,
        });
        await request(rs.http).get('/v1/me').set('Authorization', `Bearer ${good}`).expect(200);
        const hs = jwt.sign({ sub: 'a-1', role: 'auditor', districtId: '510112' }, 'y'.repeat(32), {
          expiresIn: 600,
        });
        await request(rs.http).get('/v1/me').set('Authorization', `Bearer ${hs}`).expect(401);
      } finally {
        await rs.close();
      }
    });

    it('refuses a role the route does not allow', async () => {
      const response = await request(t.http)
        .post('/probe/transfers')
        .set('Authorization', bearer(t.config, { sub: 'p-1', role: 'parent' }))
        .send({ amountFen: 1, memo: 'x' })
        .expect(403);
      expect(response.body.code).toBe('FORBIDDEN_ROLE');
    });

    it('closes a route that declares no roles', async () => {
      await request(t.http).post('/probe/closed').set('Authorization', operator).expect(403);
    });
  });

  describe('problem details', () => {
    it('answers an unknown route with 404 problem details and the request id', async () => {
      const response = await request(t.http)
        .get('/v1/nothing-here')
        .set('X-Request-Id', 'lost-1')
        .expect(404);
      expect(response.body).toMatchObject({ status: 404, code: 'NOT_FOUND' });
      expect(response.body.type).toMatch(/^urn:escrow-ledger:problem:/);
      expect(response.headers['x-request-id']).toBe('lost-1');
    });

    it('answers a malformed %-escape in the path with problem details and the request id', async () => {
      const response = await request(t.http)
        .get('/v1/orders/%zz')
        .set('Authorization', operator)
        .set('X-Request-Id', 'bad-url-1')
        .expect(400);
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(response.headers['x-request-id']).toBe('bad-url-1');
      expect(response.body).toMatchObject({
        status: 400,
        code: 'VALIDATION_FAILED',
        instance: '/v1/orders/%zz',
      });
    });

    it('validates a long id, and answers 414 to a path segment longer than any id', async () => {
      const long = await request(t.http)
        .get(`/v1/orders/${'a'.repeat(200)}`)
        .set('Authorization', operator)
        .expect(400);
      expect(long.body.code).toBe('VALIDATION_FAILED');
      const tooLong = await request(t.http)
        .get(`/v1/orders/${'a'.repeat(257)}`)
        .set('Authorization', operator)
        .set('X-Request-Id', 'long-1')
        .expect(414);
      expect(tooLong.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(tooLong.headers['x-request-id']).toBe('long-1');
      expect(tooLong.body).toMatchObject({ status: 414, code: 'URI_TOO_LONG' });
    });

    it('answers malformed JSON with VALIDATION_FAILED', async () => {
      const response = await request(t.http)
        .post('/probe/transfers')
        .set('Authorization', operator)
        .set('Content-Type', 'application/json')
        .send('{"amountFen": 1,')
        .expect(400);
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(response.body).toMatchObject({
        code: 'VALIDATION_FAILED',
        detail: expect.stringContaining('not valid JSON'),
        instance: '/probe/transfers',
      });
    });

    it.each([
      ['an empty JSON body', 'application/json', '', 400, 'VALIDATION_FAILED', 'amountFen'],
      ['a body of a type no route takes', 'application/octet-stream', 'x', 415, '', ''],
      ['a text body', 'text/plain', '{"amountFen":1,"memo":"text"}', 415, '', ''],
      ['a form body', 'application/x-www-form-urlencoded', 'amountFen=1&memo=form', 415, '', ''],
      ['a statement file', 'application/xml', '<Document/>', 415, '', 'Send a JSON body'],
      [
        'a JSON body over 256 KiB',
        'application/json',
        `"${'m'.repeat(256 * 1024)}"`,
        413,
        'PAYLOAD_TOO_LARGE',
        '',
      ],
    ])('answers %s with problem details', async (_, type, body, status, code, detail) => {
      const response = await request(t.http)
        .post('/probe/transfers')
        .set('Authorization', operator)
        .set('Content-Type', type)
        .set('X-Request-Id', 'body-1')
        .send(body)
        .expect(status);
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(response.headers['x-request-id']).toBe('body-1');
      expect(response.body).toMatchObject({
        status,
        code: code || 'UNSUPPORTED_MEDIA_TYPE',
        detail: expect.stringContaining(detail),
        instance: '/probe/transfers',
      });
    });

    it('takes an empty JSON body as no body, and refuses an empty body of another type', async () => {
      for (const type of [undefined, 'application/json']) {
        const call = request(t.http).post('/probe/bodiless').set('Authorization', operator);
        if (type) void call.set('Content-Type', type).send('');
        const response = await call.expect(201);
        expect(response.body).toEqual({ done: true });
      }
      const text = await request(t.http)
        .post('/probe/bodiless')
        .set('Authorization', operator)
        .set('Content-Type', 'text/plain')
        .send('')
        .expect(415);
      expect(text.body.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    });

    it('refuses an encoded body with 415 before reading it, and writes nothing', async () => {
      for (const encoding of ['gzip', 'deflate', 'br', ' GZip ']) {
        const response = await request(t.http)
          .post('/probe/transfers')
          .set('Authorization', operator)
          .set('Content-Type', 'application/json')
          .set('Content-Encoding', encoding)
          .send(JSON.stringify({ amountFen: 1, memo: 'encoded' }))
          .expect(415);
        expect(response.body).toMatchObject({
          code: 'UNSUPPORTED_MEDIA_TYPE',
          detail: expect.stringContaining(encoding.trim().toLowerCase()),
        });
      }
      await request(t.http)
        .post('/probe/transfers')
        .set('Authorization', operator)
        .set('Content-Encoding', 'identity')
        .send({ amountFen: 1, memo: 'identity' })
        .expect(201);
      // Without a body, the header says nothing; nor does a stray Content-Type.
      await request(t.http)
        .get('/v1/me')
        .set('Authorization', operator)
        .set('Content-Encoding', 'gzip')
        .set('Content-Type', 'text/csv')
        .expect(200);
      expect(await countProbeTransfers('encoded')).toBe(0);
      expect(await countProbeTransfers('identity')).toBe(1);
    });

    it('ignores a trailing slash, and answers a path in other case with 404', async () => {
      await request(t.http).get('/v1/me/').set('Authorization', operator).expect(200);
      const response = await request(t.http).get('/V1/ME').set('Authorization', operator);
      expect(response.status).toBe(404);
      expect(response.body.code).toBe('NOT_FOUND');
    });

    it('lists every invalid field and writes nothing', async () => {
      const response = await request(t.http)
        .post('/probe/transfers')
        .set('Authorization', operator)
        .send({ amountFen: 1.5, memo: 7, extra: true })
        .expect(400);
      expect(response.body.code).toBe('VALIDATION_FAILED');
      const fields = response.body.errors.map((e: { field: string }) => e.field);
      expect(fields).toEqual(expect.arrayContaining(['amountFen', 'memo', 'extra']));
    });

    it.each([
      [{ amountFen: '100', memo: 'numeric-string' }],
      [{ amountFen: -1, memo: 'negative' }],
      [{ amountFen: 0, memo: 'zero' }],
      [{ amountFen: 1e20, memo: 'enormous' }],
      [{ amountFen: null, memo: 'null' }],
    ])('refuses the amount in %j', async (body) => {
      const response = await request(t.http)
        .post('/probe/transfers')
        .set('Authorization', operator)
        .send(body)
        .expect(400);
      expect(response.body.errors[0].field).toBe('amountFen');
      expect(await countProbeTransfers(body.memo)).toBe(0);
    });

    it('hides an unexpected error behind an errorId', async () => {
      const response = await request(t.http)
        .post('/probe/crash')
        .set('Authorization', operator)
        .expect(500);
      expect(response.body).toMatchObject({ status: 500, code: 'INTERNAL_ERROR' });
      expect(response.body.errorId).toMatch(/^[0-9a-f-]{36}$/);
      expect(JSON.stringify(response.body)).not.toMatch(/secret internal detail/);
    });

    it('answers a unique violation with 409, not 500', async () => {
      const response = await request(t.http)
        .post('/probe/duplicate')
        .set('Authorization', operator)
        .expect(409);
      expect(response.body.code).toBe('CONFLICT');
    });
  });

  describe('shutting down', () => {
    it('answers requests in flight, each closing its connection, and refuses later ones with 503 problem details', async () => {
      const closing = await createTestApp({}, [ProbeModule]);
      const post = (path: string, id: string) =>
        `POST ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: ${operator}\r\n` +
        `X-Request-Id: ${id}\r\nContent-Length: 0\r\n\r\n`;
      const [one, two, three] = [
        await openConnection(closing),
        await openConnection(closing),
        await openConnection(closing),
      ];
      one.socket.write(post('/probe/held', 'held-1'));
      two.socket.write(post('/probe/held', 'held-2'));
      // A request whose head is still coming when the shutdown starts.
      const lastRequest = post('/probe/held', 'late-2');
      const headStart = lastRequest.indexOf('\r\n') + 2;
      three.socket.write(lastRequest.slice(0, headStart));
      await eventually(() => Promise.resolve(held.arrivals === 2 || undefined));
      const closed = closing.app.close();
      await eventually(() => Promise.resolve(!closing.http.listening || undefined));
      // A new request on a connection still open, while the first is in flight: it is never
      // worked on, as its answer could not be given (the first's closes the connection).
      const late = new Promise((resolve) => closing.http.once('request', resolve));
      one.socket.write(post('/probe/held', 'late-1'));
      await late;
      three.socket.write(lastRequest.slice(headStart));
      await three.ended;
      held.release();
      // Every connection ends after its last answer, not at the shutdown's deadline (25 s).
      await Promise.all([closed, one.ended, two.ended]);
      // Refused with problem details, and its connection closed.
      expect(three.received).toMatch(/^HTTP\/1\.1 503/);
      expect(three.received).toMatch(/^content-type: application\/problem\+json/im);
      expect(three.received).toMatch(/^x-request-id: late-2\r$/im);
      expect(three.received).toMatch(/^connection: close\r$/im);
      expect(three.received).toContain('"code":"SERVICE_UNAVAILABLE"');
      expect(held.arrivals).toBe(2);
      for (const { received } of [one, two]) {
        expect(received.match(/^HTTP\/1\.1 /gm)).toHaveLength(1);
        expect(received).toMatch(/^HTTP\/1\.1 201/);
        expect(received).toContain('{"held":true}');
        expect(received).toMatch(/^connection: close\r$/im);
      }
    });
  });

  describe('idempotency', () => {
    const send = (key: string, body: object) =>
      request(t.http)
        .post('/probe/transfers')
        .set('Authorization', operator)
        .set('Idempotency-Key', key)
        .send(body);

    it('replays the first response for the same key and body', async () => {
      const key = randomUUID();
      const first = await send(key, { amountFen: 100, memo: 'replay' }).expect(201);
      const again = await send(key, { memo: 'replay', amountFen: 100 }).expect(201);
      expect(again.body).toEqual(first.body);
      expect(await countProbeTransfers('replay')).toBe(1);
    });

    it('refuses the same key with another body', async () => {
      const key = randomUUID();
      await send(key, { amountFen: 100, memo: 'reuse' }).expect(201);
      const response = await send(key, { amountFen: 101, memo: 'reuse' }).expect(409);
      expect(response.body.code).toBe('IDEMPOTENCY_KEY_REUSED');
      expect(await countProbeTransfers('reuse')).toBe(1);
    });

    it('does the work once for concurrent requests with one key', async () => {
      const key = randomUUID();
      const responses = await Promise.all(
        Array.from({ length: 10 }, () => send(key, { amountFen: 5, memo: 'race' })),
      );
      expect(responses.map((r) => r.status)).toEqual(Array(10).fill(201));
      expect(new Set(responses.map((r) => r.body.transactionId)).size).toBe(1);
      expect(await countProbeTransfers('race')).toBe(1);
    });

    it('keeps keys of different principals apart', async () => {
      const key = randomUUID();
      await send(key, { amountFen: 7, memo: 'scoped' }).expect(201);
      await request(t.http)
        .post('/probe/transfers')
        .set(
          'Authorization',
          bearer(t.config, { sub: 'op-2', role: 'operator', districtId: '510112' }),
        )
        .set('Idempotency-Key', key)
        .send({ amountFen: 7, memo: 'scoped' })
        .expect(201);
      expect(await countProbeTransfers('scoped')).toBe(2);
    });

    it('refuses a malformed key', async () => {
      const response = await send('x'.repeat(256), { amountFen: 1, memo: 'badkey' }).expect(400);
      expect(response.body.errors[0].field).toBe('Idempotency-Key');
    });
  });
});
