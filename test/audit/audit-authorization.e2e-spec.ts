/**
 * Who may call the audit routes, that they only read, and that every call to them is recorded
 * for the district's operators.
 */
import { RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { AuditRequestsController } from '../../src/audit/audit-requests.controller';
import { AuditController } from '../../src/audit/audit.controller';
import { TestApp, createTestApp } from '../support/app';
import { InstitutionFixture, createInstitution, newDistrictId, tokens } from '../support/factories';
import { eventually } from './support';

/** Every handler of the audit controllers, with its HTTP method and full path. */
function auditRoutes() {
  return [AuditController, AuditRequestsController].flatMap((controller) => {
    const base = Reflect.getMetadata(PATH_METADATA, controller) as string;
    return Object.getOwnPropertyNames(controller.prototype)
      .filter((name) => name !== 'constructor')
      .map((name) => {
        const handler = (controller.prototype as unknown as Record<string, unknown>)[
          name
        ] as object;
        const path = Reflect.getMetadata(PATH_METADATA, handler) as string;
        return {
          name,
          method: Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod,
          path: `/${base}${path === '/' ? '' : `/${path}`}`,
        };
      });
  });
}

describe('audit authorization and trail (HTTP)', () => {
  let t: TestApp;
  let dataSource: DataSource;
  let as: ReturnType<typeof tokens>;
  let school: InstitutionFixture;
  let districtId: string;

  beforeAll(async () => {
    t = await createTestApp();
    dataSource = t.app.get(DataSource);
    as = tokens(t.config);
    districtId = newDistrictId();
    school = await createInstitution(dataSource, { districtId });
  });

  afterAll(() => t.close());

  const concrete = (path: string) => path.replace(':id', school.institution.id);

  it('has exactly the six audit operations, every one a GET', () => {
    const routes = auditRoutes();
    expect(routes.map((r) => r.name).sort()).toEqual(
      [
        'getAuditSummary',
        'getInstitutionBalances',
        'getOrderHistory',
        'listAuditRequests',
        'listJournal',
        'verifyIntegrity',
      ].sort(),
    );
    expect(routes.every((r) => r.method === RequestMethod.GET)).toBe(true);
  });

  describe.each(auditRoutes().map((r) => [r.name, r] as const))('%s', (_, route) => {
    const allowed = route.name === 'listAuditRequests' ? 'operator' : 'auditor';

    it(`refuses every role but ${allowed} with 403 FORBIDDEN_ROLE`, async () => {
      const refused = [
        as.parent(`p-${randomUUID()}`),
        as.institution(school.institution),
        allowed === 'auditor' ? as.operator(districtId) : as.auditor(districtId),
      ];
      for (const token of refused) {
        const response = await request(t.http)
          .get(concrete(route.path))
          .set('Authorization', token)
          .expect(403);
        expect(response.body.code).toBe('FORBIDDEN_ROLE');
      }
    });

    it('refuses a request without a token with 401', async () => {
      const response = await request(t.http).get(concrete(route.path)).expect(401);
      expect(response.body.code).toBe('UNAUTHENTICATED');
    });

    it('answers no write method', async () => {
      for (const method of ['post', 'put', 'patch', 'delete'] as const) {
        const response = await request(t.http)
          [method](concrete(route.path))
          .set('Authorization', as.auditor(districtId))
          .send({});
        expect(response.status).toBe(404);
      }
    });
  });

  describe('the trail', () => {
    type Entry = {
      principalSub: string;
      principalRole: string;
      method: string;
      path: string;
      statusCode: number;
      aborted: boolean;
      requestId: string;
    };
    const trailOf = (sub: string, operator = as.operator(districtId)) =>
      request(t.http)
        .get('/v1/audit/requests')
        .query({ principalSub: sub, limit: 200 })
        .set('Authorization', operator)
        .then((response) => {
          expect(response.status).toBe(200);
          return response.body.items as Entry[];
        });

    it('records who asked what, and the answer, for the district’s operators', async () => {
      const sub = `aud-${randomUUID()}`;
      const auditor = as.auditor(districtId, sub);
      await request(t.http)
        .get('/v1/audit/summary')
        .set('Authorization', auditor)
        .set('X-Request-Id', `trail-${sub}`)
        .expect(200);
      const journal = await request(t.http)
        .get(`/v1/audit/journal?institutionId=${school.institution.id}&limit=5`)
        .set('Authorization', auditor)
        .expect(200);
      await request(t.http)
        .get(`/v1/audit/institutions/${randomUUID()}/balances`)
        .set('Authorization', auditor)
        .expect(404);
      await request(t.http)
        .get('/v1/audit/journal?from=yesterday')
        .set('Authorization', auditor)
        .expect(400);

      const entries = await eventually(
        () => trailOf(sub),
        (items) => items.length === 4,
      );
      expect(entries).toEqual([
        expect.objectContaining({
          principalSub: sub,
          principalRole: 'auditor',
          method: 'GET',
          path: '/v1/audit/summary',
          statusCode: 200,
          aborted: false,
          requestId: `trail-${sub}`,
        }),
        expect.objectContaining({
          path: `/v1/audit/journal?institutionId=${school.institution.id}&limit=5`,
          statusCode: 200,
          requestId: journal.headers['x-request-id'],
        }),
        expect.objectContaining({ statusCode: 404 }),
        expect.objectContaining({ path: '/v1/audit/journal?from=yesterday', statusCode: 400 }),
      ]);
    });

    it('records a read whose path is percent-encoded, as the router serves it', async () => {
      // The router and the middleware that writes the trail each decode the path; a read the
      // router answers must never slip past the trail.
      const sub = `aud-${randomUUID()}`;
      const auditor = as.auditor(districtId, sub);
      for (const path of ['/v1/audit/%73ummary', '/v1/%61udit/summary']) {
        await request(t.http).get(path).set('Authorization', auditor).expect(200);
      }
      const entries = await eventually(
        () => trailOf(sub),
        (items) => items.length === 2,
      );
      expect(entries.map((entry) => [entry.path, entry.statusCode])).toEqual([
        ['/v1/audit/%73ummary', 200],
        ['/v1/%61udit/summary', 200],
      ]);
    });

    it('records refused attempts too', async () => {
      const sub = `staff-${randomUUID()}`;
      await request(t.http)
        .get('/v1/audit/summary')
        .set('Authorization', as.institution(school.institution, sub))
        .expect(403);
      const [entry] = await eventually(
        () => trailOf(sub),
        (items) => items.length === 1,
      );
      expect(entry).toMatchObject({ principalRole: 'institution', statusCode: 403 });
    });

    it('shows nothing to operators of another district', async () => {
      const sub = `aud-${randomUUID()}`;
      await request(t.http)
        .get('/v1/audit/summary')
        .set('Authorization', as.auditor(districtId, sub))
        .expect(200);
      await eventually(
        () => trailOf(sub),
        (items) => items.length === 1,
      );
      expect(await trailOf(sub, as.operator(newDistrictId()))).toEqual([]);
    });

    it('pages, and refuses bad filters', async () => {
      const sub = `aud-${randomUUID()}`;
      for (let i = 0; i < 3; i++) {
        await request(t.http)
          .get('/v1/audit/summary')
          .set('Authorization', as.auditor(districtId, sub))
          .expect(200);
      }
      await eventually(
        () => trailOf(sub),
        (items) => items.length === 3,
      );
      const first = await request(t.http)
        .get('/v1/audit/requests')
        .query({ principalSub: sub, limit: 2 })
        .set('Authorization', as.operator(districtId))
        .expect(200);
      expect(first.body.items).toHaveLength(2);
      const second = await request(t.http)
        .get('/v1/audit/requests')
        .query({ principalSub: sub, limit: 2, cursor: first.body.nextCursor })
        .set('Authorization', as.operator(districtId))
        .expect(200);
      expect(second.body).toMatchObject({ nextCursor: null });
      expect(second.body.items).toHaveLength(1);
      for (const query of [{ from: 'x' }, { cursor: 'forged' }, { principal: 'x' }]) {
        const response = await request(t.http)
          .get('/v1/audit/requests')
          .query(query)
          .set('Authorization', as.operator(districtId))
          .expect(400);
        expect(response.body.code).toBe('VALIDATION_FAILED');
      }
    });

    it('is append-only in PostgreSQL', async () => {
      await expect(dataSource.query('DELETE FROM audit_requests')).rejects.toThrow(/append-only/);
      await expect(dataSource.query("UPDATE audit_requests SET path = '/'")).rejects.toThrow(
        /append-only/,
      );
    });
  });
});
