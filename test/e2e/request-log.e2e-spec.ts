/**
 * Request ids and the access log. The app boots silent; each test sets the level of the logger
 * the service writes with, as an operator could at runtime, and reads what was logged from spies
 * on it.
 */
import { Controller, Module, Post } from '@nestjs/common';
import { PinoLogger } from 'nestjs-pino';
import type { Logger } from 'pino';
import request from 'supertest';
import { Roles } from '../../src/auth/auth.decorators';
import * as errors from '../../src/common/errors/domain.exception';
import { TestApp, bearer, createTestApp, openConnection } from '../support/app';
import { eventually } from '../support/waiting';

@Controller('probe')
class CrashController {
  @Post('crash')
  @Roles('operator')
  crash(): never {
    throw new Error('secret internal detail');
  }

  /** What the HTTP layer raises when a client stops sending its body part-way. */
  @Post('unread-body')
  @Roles('operator')
  unreadBody(): never {
    throw Object.assign(new Error('aborted'), { code: 'ECONNRESET', statusCode: 400 });
  }

  /** An error of ours that happens to carry a 4xx status (an outgoing call's, say). */
  @Post('outgoing-404')
  @Roles('operator')
  outgoing(): never {
    throw Object.assign(new Error('bank said 404'), { statusCode: 404 });
  }
}

@Module({ controllers: [CrashController] })
class CrashModule {}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('request ids and the access log (HTTP)', () => {
  let t: TestApp;
  let parent: string;
  let operator: string;
  let logger: Logger;
  let info: jest.SpyInstance;
  let error: jest.SpyInstance;

  beforeAll(async () => {
    t = await createTestApp({ LOG_LEVEL: 'silent' }, [CrashModule]);
    parent = bearer(t.config, { sub: 'p-log', role: 'parent' });
    operator = bearer(t.config, { sub: 'op-log', role: 'operator', districtId: '510112' });
    logger = (await t.app.resolve(PinoLogger)).logger;
  });

  afterAll(() => t.close());

  beforeEach(() => {
    logger.level = 'info';
    info = jest.spyOn(logger, 'info').mockImplementation(() => undefined);
    error = jest.spyOn(logger, 'error').mockImplementation(() => undefined);
  });

  afterEach(() => {
    jest.restoreAllMocks();
    logger.level = 'silent';
  });

  /** The access log lines written so far: [fields, message]. */
  const accessLines = () =>
    info.mock.calls.filter(([, message]) => String(message).startsWith('request '));

  it('keeps a caller’s plain request id and answers it', async () => {
    const response = await request(t.http)
      .get('/v1/me')
      .set('Authorization', parent)
      .set('X-Request-Id', 'client-42.retry_1')
      .expect(200);
    expect(response.headers['x-request-id']).toBe('client-42.retry_1');
  });

  it.each([
    ['none', undefined],
    ['one with a space', 'two words'],
    ['one with a slash', 'a/b'],
    ['one longer than 128 characters', 'x'.repeat(129)],
  ])('gives a request with %s a new UUID', async (_, given) => {
    const call = request(t.http).get('/v1/me').set('Authorization', parent);
    if (given !== undefined) call.set('X-Request-Id', given);
    const response = await call.expect(200);
    expect(response.headers['x-request-id']).toMatch(UUID);
    expect(response.headers['x-request-id']).not.toBe(given);
  });

  it('writes one line per request, with its id and status, and never a header', async () => {
    const response = await request(t.http)
      .get('/v1/me?verbose=1')
      .set('Authorization', parent)
      .set('Cookie', 'session=secret-cookie')
      .expect(200);
    const lines = accessLines();
    expect(lines).toHaveLength(1);
    const [fields, message] = lines[0];
    expect(message).toBe('request completed');
    expect(fields).toEqual({
      req: {
        id: response.headers['x-request-id'],
        method: 'GET',
        url: '/v1/me?verbose=1',
        remoteAddress: expect.any(String),
      },
      res: { statusCode: 200 },
      responseTime: expect.any(Number),
    });
    const written = JSON.stringify(lines);
    expect(written).not.toContain(parent.slice('Bearer '.length));
    expect(written).not.toContain('secret-cookie');
  });

  it('logs refused requests with their status', async () => {
    await request(t.http).get('/v1/me').expect(401);
    expect(accessLines()).toEqual([
      [expect.objectContaining({ res: { statusCode: 401 } }), 'request completed'],
    ]);
  });

  it('does not log the health and metrics probes, with or without a query', async () => {
    await request(t.http).get('/health').expect(200);
    await request(t.http).get('/health?probe=kubelet').expect(200);
    await request(t.http).get('/metrics').expect(200);
    expect(accessLines()).toEqual([]);
  });

  it('logs a URL the router cannot read, with its id', async () => {
    await request(t.http).get('/v1/orders/%zz').set('X-Request-Id', 'bad-url-2').expect(400);
    expect(accessLines()).toEqual([
      [
        expect.objectContaining({
          req: expect.objectContaining({ id: 'bad-url-2', method: 'GET', url: '/v1/orders/%zz' }),
          res: { statusCode: 400 },
        }),
        'request refused',
      ],
    ]);
    expect(error).not.toHaveBeenCalled();
  });

  it('answers a body that could not be read with 400, not as our error', async () => {
    const response = await request(t.http)
      .post('/probe/unread-body')
      .set('Authorization', operator)
      .expect(400);
    expect(response.body).toMatchObject({
      code: 'VALIDATION_FAILED',
      detail: 'The request body could not be read.',
    });
    expect(error).not.toHaveBeenCalled();
    const ours = await request(t.http)
      .post('/probe/outgoing-404')
      .set('Authorization', operator)
      .expect(500);
    expect(ours.body.code).toBe('INTERNAL_ERROR');
    expect(error).toHaveBeenCalledWith(
      expect.objectContaining({ errorId: ours.body.errorId }),
      'unexpected error',
    );
  });

  it('logs a client that went away in the middle of its body as aborted, not as our error', async () => {
    const answered = jest.spyOn(errors, 'commonError');
    const { socket, ended } = await openConnection(t);
    const arrived = new Promise((resolve) => t.http.once('request', resolve));
    socket.write(
      `POST /v1/orders HTTP/1.1\r\nHost: x\r\nAuthorization: ${parent}\r\n` +
        'Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"courseId":',
    );
    await arrived;
    socket.destroy();
    await ended;
    const lines = await eventually(() => {
      const written = accessLines();
      return Promise.resolve(written.length > 0 ? written : undefined);
    });
    expect(lines).toEqual([[expect.objectContaining({ aborted: true }), 'request aborted']]);
    // The body's error is answered after the connection has closed: wait until the filter has
    // built its answer (every answer's error goes through commonError), then look at the log.
    await eventually(() => Promise.resolve(answered.mock.calls.length > 0 || undefined));
    expect(error).not.toHaveBeenCalled();
  });

  it('builds nothing above the info level', async () => {
    // A level change replaces the logger's methods: spy on the one it has at warn.
    logger.level = 'warn';
    const quiet = jest.spyOn(logger, 'info');
    await request(t.http).get('/v1/me').set('Authorization', parent).expect(200);
    expect(quiet).not.toHaveBeenCalled();
  });

  it('logs an unexpected error under its errorId with the request id', async () => {
    const response = await request(t.http)
      .post('/probe/crash')
      .set('Authorization', operator)
      .set('X-Request-Id', 'crash-1')
      .expect(500);
    expect(response.body.errorId).toMatch(UUID);
    const logged = error.mock.calls.find(([, message]) => message === 'unexpected error');
    expect(logged?.[0]).toMatchObject({
      errorId: response.body.errorId,
      requestId: 'crash-1',
      path: '/probe/crash',
      err: expect.objectContaining({ message: 'secret internal detail' }),
    });
    expect(accessLines()).toEqual([
      [expect.objectContaining({ res: { statusCode: 500 } }), 'request completed'],
    ]);
  });
});
