/**
 * The bureau's reads: summary, balances at an instant, journal (pages and CSV) and order
 * history, each scoped to the auditor's district.
 */
import { randomUUID } from 'node:crypto';
import { get as httpGet } from 'node:http';
import { AddressInfo } from 'node:net';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { EXPORT_BATCH } from '../../src/audit/journal.service';
import { Order } from '../../src/orders/entities/order.entity';
import { paymentNotification, sendBankNotification } from '../support/bank';
import {
  InstitutionFixture,
  createInstitution,
  createOrder,
  newDistrictId,
  tokens,
} from '../support/factories';
import { LedgerTestApp, closeWithBooksBalanced, createLedgerTestApp } from '../support/ledger-app';
import { dbNow, eventually, ledger, paidRefund, recordLesson, schoolWithOrders } from './support';

describe('audit reads (HTTP)', () => {
  let t: LedgerTestApp;
  let dataSource: DataSource;
  let as: ReturnType<typeof tokens>;

  beforeAll(async () => {
    t = await createLedgerTestApp();
    ({ dataSource, as } = t);
  });

  afterAll(() => closeWithBooksBalanced(t));

  const get = (path: string, token: string) =>
    request(t.http).get(path).set('Authorization', token);

  describe('GET /v1/audit/summary', () => {
    let districtId: string;
    let active: InstitutionFixture;
    let suspended: InstitutionFixture;

    beforeAll(async () => {
      districtId = newDistrictId();
      const busy = await schoolWithOrders(dataSource, 2, { districtId });
      active = busy.school;
      await recordLesson(dataSource, active, busy.orders[0], 1, { status: 'confirmed' });
      await recordLesson(dataSource, active, busy.orders[0], 2, { status: 'disputed' });
      await dataSource.transaction((manager) =>
        ledger.post(manager, {
          kind: 'refund_approved',
          reference: `refund:${busy.orders[1].id}`,
          institutionId: active.institution.id,
          transfers: [
            {
              debitAccountId: busy.orders[1].escrowAccountId,
              creditAccountId: active.accounts.refund_payable,
              amountFen: 10_000,
            },
          ],
        }),
      );
      await dataSource.transaction((manager) =>
        ledger.hold(manager, {
          kind: 'refund_requested',
          reference: `refund:${randomUUID()}:hold`,
          institutionId: active.institution.id,
          transfers: [
            {
              debitAccountId: busy.orders[1].escrowAccountId,
              creditAccountId: active.accounts.refund_payable,
              amountFen: 2_000,
            },
          ],
        }),
      );
      suspended = await createInstitution(dataSource, {
        districtId,
        status: 'suspended',
      });
      await dataSource.query(
        `INSERT INTO operator_exceptions (kind, subject_id, district_id, institution_id, amount_fen)
         VALUES ('unmatched_payment', $1, $2, $3, 500), ('unknown_instruction', $4, $2, NULL, NULL),
                ('unmatched_payment', $5, $2, $3, 700)`,
        [randomUUID(), districtId, active.institution.id, randomUUID(), randomUUID()],
      );
      await dataSource.query(
        `UPDATE operator_exceptions SET status = 'resolved' WHERE subject_id IN (
           SELECT subject_id FROM operator_exceptions WHERE district_id = $1 AND amount_fen = 700)`,
        [districtId],
      );
      // Reconciliation's own exceptions: one here, one in another district.
      const reconciliationException = (school: InstitutionFixture) =>
        dataSource.query(
          `INSERT INTO reconciliation_exceptions (kind, subject, account_no, institution_id,
             district_id, business_date, direction, amount_fen)
           VALUES ('bank_only', $1, $2, $3, $4, current_date, 'credit', 900)`,
          [
            `line:${randomUUID()}`,
            school.custodyAccountNo,
            school.institution.id,
            school.institution.districtId,
          ],
        );
      await reconciliationException(active);
      // Another district's money and exceptions must not show.
      await reconciliationException((await schoolWithOrders(dataSource, 1)).school);
    });

    it("gives the district's totals and each institution's figures", async () => {
      const response = await get('/v1/audit/summary', as.auditor(districtId)).expect(200);
      // Two orders of 10 × 4,000 paid; lesson 1 released (4,000), lesson 2 held (4,000);
      // 10,000 approved for refund, 2,000 requested (held, still owed).
      const figures = {
        heldInCustodyFen: 80_000,
        owedToParentsFen: 76_000,
        unconsumedEscrowFen: 66_000,
        heldForLessonsFen: 4_000,
        releasedNotSettledFen: 4_000,
        refundsPendingFen: 10_000,
        refundsRequestedFen: 2_000,
        suspenseFen: 0,
        openDisputes: 1,
      };
      expect(response.body).toMatchObject({
        districtId,
        totals: { ...figures, openExceptions: 2, openReconciliationExceptions: 1 },
        institutionsByStatus: { active: 1, suspended: 1, closed: 0 },
      });
      const byId = new Map(
        response.body.institutions.map((i: { institutionId: string }) => [i.institutionId, i]),
      );
      expect(byId.size).toBe(2);
      expect(byId.get(active.institution.id)).toMatchObject({
        ...figures,
        openExceptions: 1,
        openReconciliationExceptions: 1,
        status: 'active',
        custodyCoversParents: true,
      });
      expect(byId.get(suspended.institution.id)).toMatchObject({
        heldInCustodyFen: 0,
        owedToParentsFen: 0,
        openDisputes: 0,
        openExceptions: 0,
        status: 'suspended',
      });
      expect(Date.parse(response.body.asOf)).not.toBeNaN();
    });

    it('shows an auditor of another district nothing of this one', async () => {
      const response = await get('/v1/audit/summary', as.auditor(newDistrictId())).expect(200);
      expect(response.body).toMatchObject({
        institutions: [],
        totals: { heldInCustodyFen: 0, owedToParentsFen: 0, openExceptions: 0 },
        institutionsByStatus: { active: 0, suspended: 0, closed: 0 },
      });
    });

    it('refuses unknown query fields', async () => {
      const response = await get('/v1/audit/summary?districtId=x', as.auditor(districtId)).expect(
        400,
      );
      expect(response.body.code).toBe('VALIDATION_FAILED');
    });
  });

  describe('GET /v1/audit/institutions/:id/balances', () => {
    let school: InstitutionFixture;
    let order: Order;
    let pending: Order;
    const instants: Record<string, string> = {};

    beforeAll(async () => {
      const built = await schoolWithOrders(dataSource, 0);
      school = built.school;
      instants.beforePayment = await dbNow(dataSource);
      order = await createOrder(dataSource, {
        institution: school.institution,
        course: built.course,
      });
      await sendBankNotification(
        t.http,
        t.config,
        paymentNotification(school.custodyAccountNo, order.paymentReference, order.amountFen),
      ).expect(200);
      instants.afterPayment = await dbNow(dataSource);
      const lesson = await recordLesson(dataSource, school, order, 1, { status: 'disputed' });
      instants.afterHold = await dbNow(dataSource);
      await dataSource.transaction((manager) =>
        ledger.postPending(manager, {
          pendingId: lesson.holdId,
          kind: 'lesson_release',
          reference: `lesson:${lesson.lessonId}:release`,
        }),
      );
      instants.afterRelease = await dbNow(dataSource);
      pending = await createOrder(dataSource, {
        institution: school.institution,
        course: built.course,
      });
    });

    const balancesAt = (at?: string, extra = '') =>
      get(
        `/v1/audit/institutions/${school.institution.id}/balances?${
          at ? `at=${encodeURIComponent(at)}` : ''
        }${extra}`,
        as.auditor(school.institution.districtId),
      );
    const line = (body: { accounts: { code: string }[] }, code: string) =>
      body.accounts.find((account) => account.code === code);

    it('answers every account as it stood at each instant', async () => {
      const before = (await balancesAt(instants.beforePayment).expect(200)).body;
      expect(before.at).toBe(instants.beforePayment);
      expect(before.accounts.map((a: { code: string }) => a.code)).toEqual([
        'custody_cash',
        'order_escrow',
        'settlement_payable',
        'refund_payable',
        'suspense',
        'interest',
      ]);
      expect(line(before, 'custody_cash')).toMatchObject({
        postedFen: 0,
        accountCount: 1,
        accountId: school.accounts.custody_cash,
      });
      expect(line(before, 'order_escrow')).toMatchObject({ postedFen: 0, accountCount: 0 });

      const paid = (await balancesAt(instants.afterPayment).expect(200)).body;
      expect(line(paid, 'custody_cash')).toMatchObject({
        postedDebitsFen: 40_000,
        postedCreditsFen: 0,
        postedFen: 40_000,
        availableFen: 40_000,
      });
      expect(line(paid, 'order_escrow')).toMatchObject({
        postedFen: 40_000,
        accountCount: 1,
        accountId: null,
      });

      const held = (await balancesAt(instants.afterHold).expect(200)).body;
      expect(line(held, 'order_escrow')).toMatchObject({
        postedFen: 40_000,
        pendingDebitsFen: 4_000,
        availableFen: 36_000,
      });
      expect(line(held, 'settlement_payable')).toMatchObject({
        postedFen: 0,
        pendingCreditsFen: 4_000,
      });

      const released = (await balancesAt(instants.afterRelease).expect(200)).body;
      expect(line(released, 'order_escrow')).toMatchObject({
        postedFen: 36_000,
        pendingDebitsFen: 0,
        availableFen: 36_000,
      });
      expect(line(released, 'settlement_payable')).toMatchObject({
        postedFen: 4_000,
        pendingCreditsFen: 0,
      });
    });

    it('defaults to now, and counts the escrow of every order opened by then', async () => {
      const now = (await balancesAt().expect(200)).body;
      expect(Date.parse(now.at)).toBeGreaterThanOrEqual(Date.parse(instants.afterRelease));
      expect(line(now, 'order_escrow')).toMatchObject({ postedFen: 36_000, accountCount: 2 });
      expect(line(now, 'custody_cash')).toMatchObject({ postedFen: 40_000 });
    });

    it('lists each order’s escrow with orders=true', async () => {
      const body = (await balancesAt(undefined, 'orders=true').expect(200)).body;
      const byOrder = new Map(body.orderEscrows.map((o: { orderId: string }) => [o.orderId, o]));
      expect(byOrder.get(order.id)).toMatchObject({
        accountId: order.escrowAccountId,
        postedFen: 36_000,
        accountVersion: 4,
      });
      expect(byOrder.get(pending.id)).toMatchObject({ postedFen: 0, accountVersion: 0 });
      expect((await balancesAt(undefined, 'orders=false').expect(200)).body.orderEscrows).toBe(
        undefined,
      );
    });

    it.each([
      ['yesterday', 'at'],
      ['2026-03-01', 'at'],
      ['2026-03-01T08:00:00', 'at'],
      ['2026-02-30T08:00:00Z', 'at'],
      ['0000-01-01T00:00:00Z', 'at'],
      ['2999-01-01T00:00:00Z', 'at'],
    ])('refuses at=%s with 400 naming %s', async (at, field) => {
      const response = await balancesAt(at).expect(400);
      expect(response.body.code).toBe('VALIDATION_FAILED');
      expect(response.body.errors.map((e: { field: string }) => e.field)).toContain(field);
    });

    it.each([
      ['orders=maybe', 'orders'],
      ['institutionId=x', 'institutionId'],
    ])('refuses %s with 400 naming %s', async (extra, field) => {
      const response = await balancesAt(undefined, extra).expect(400);
      expect(response.body.errors.map((e: { field: string }) => e.field)).toContain(field);
    });

    it('answers 404 to an auditor of another district, and for an unknown id', async () => {
      for (const [id, token] of [
        [school.institution.id, as.auditor(newDistrictId())],
        [randomUUID(), as.auditor(school.institution.districtId)],
      ]) {
        const response = await get(`/v1/audit/institutions/${id}/balances`, token).expect(404);
        expect(response.body.code).toBe('INSTITUTION_NOT_FOUND');
        expect(JSON.stringify(response.body)).not.toContain('custody_cash');
      }
    });

    it('refuses a malformed id with 400', async () => {
      const response = await get(
        '/v1/audit/institutions/not-a-uuid/balances',
        as.auditor(school.institution.districtId),
      ).expect(400);
      expect(response.body.code).toBe('VALIDATION_FAILED');
    });
  });

  describe('GET /v1/audit/journal', () => {
    let school: InstitutionFixture;
    let other: InstitutionFixture;
    let orders: Order[];
    let districtId: string;

    beforeAll(async () => {
      districtId = newDistrictId();
      const built = await schoolWithOrders(dataSource, 2, { districtId });
      school = built.school;
      orders = built.orders;
      await recordLesson(dataSource, school, orders[0], 1, { status: 'confirmed' });
      await recordLesson(dataSource, school, orders[1], 1, { status: 'disputed' });
      // A reference that CSV must quote.
      await dataSource.transaction((manager) =>
        ledger.post(manager, {
          kind: 'manual_adjustment',
          reference: `manual:${randomUUID()}:"a, b"`,
          institutionId: school.institution.id,
          transfers: [
            {
              debitAccountId: school.accounts.custody_cash,
              creditAccountId: school.accounts.suspense,
              amountFen: 1,
            },
          ],
          manual: true,
        }),
      );
      other = (await schoolWithOrders(dataSource, 1, { districtId })).school;
      await schoolWithOrders(dataSource, 1); // another district
    });

    const journal = (query: Record<string, string | number>, token = as.auditor(districtId)) =>
      request(t.http).get('/v1/audit/journal').query(query).set('Authorization', token);

    type Entry = {
      postingId: string;
      recordedAt: string;
      institutionId: string;
      accountCode: string;
      kind: string;
      transactionId: string;
      debitFen: number;
      creditFen: number;
      orderId: string | null;
    };
    const all = async (query: Record<string, string | number>, limit = 3) => {
      const entries: Entry[] = [];
      let cursor: string | null = null;
      do {
        const page: request.Response = await journal(
          cursor ? { ...query, limit, cursor } : { ...query, limit },
        ).expect(200);
        expect(page.body.items.length).toBeLessThanOrEqual(limit);
        entries.push(...page.body.items);
        cursor = page.body.nextCursor;
      } while (cursor);
      return entries;
    };

    it('pages through the district’s postings in recording order, each once', async () => {
      const entries = await all({});
      const institutions = new Set(entries.map((e) => e.institutionId));
      expect(institutions).toEqual(new Set([school.institution.id, other.institution.id]));
      // 2 + 1 payments (2 postings each), a hold (2), a release (4), a hold (2), a manual (2).
      expect(entries).toHaveLength(6 + 2 + 4 + 2 + 2);
      expect(new Set(entries.map((e) => e.postingId)).size).toBe(entries.length);
      const keys = entries.map((e) => [e.recordedAt, BigInt(e.postingId)] as const);
      const sorted = [...keys].sort((a, b) =>
        a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0,
      );
      expect(keys).toEqual(sorted);
      expect(entries.reduce((sum, e) => sum + e.debitFen - e.creditFen, 0)).toBe(0);
    });

    it('filters by institution, account, kind and time', async () => {
      const mine = await all({ institutionId: school.institution.id });
      expect(mine.every((e) => e.institutionId === school.institution.id)).toBe(true);
      expect(mine).toHaveLength(4 + 2 + 4 + 2 + 2);

      const custody = await all({ institutionId: school.institution.id, account: 'custody_cash' });
      expect(custody.map((e) => e.debitFen)).toEqual([40_000, 40_000, 1]);

      const holds = await all({ kind: 'lesson_hold' });
      expect(holds).toHaveLength(4);
      expect(holds.every((e) => e.kind === 'lesson_hold')).toBe(true);

      const from = mine[2].recordedAt;
      const to = mine[mine.length - 3].recordedAt;
      const window = await all({ institutionId: school.institution.id, from, to });
      const inWindow = mine.filter((e) => e.recordedAt >= from && e.recordedAt < to);
      expect(inWindow.length).toBeGreaterThan(0);
      expect(window.map((e) => e.postingId)).toEqual(inWindow.map((e) => e.postingId));
    });

    it('gives every posting of the transactions that concern an order', async () => {
      const entries = await all({ orderId: orders[0].id });
      // payment (2), hold (2), release (4): custody and settlement legs included.
      expect(entries).toHaveLength(8);
      expect(new Set(entries.map((e) => e.accountCode))).toEqual(
        new Set(['custody_cash', 'order_escrow', 'settlement_payable']),
      );
      expect(
        entries
          .filter((e) => e.accountCode === 'order_escrow')
          .every((e) => e.orderId === orders[0].id),
      ).toBe(true);
    });

    it('answers 404 for an institution or order of another district', async () => {
      const stranger = as.auditor(newDistrictId());
      const byInstitution = await journal(
        { institutionId: school.institution.id },
        stranger,
      ).expect(404);
      expect(byInstitution.body.code).toBe('INSTITUTION_NOT_FOUND');
      const byOrder = await journal({ orderId: orders[0].id }, stranger).expect(404);
      expect(byOrder.body.code).toBe('ORDER_NOT_FOUND');
      const page = await journal({}, stranger).expect(200);
      expect(page.body).toEqual({ items: [], nextCursor: null });
    });

    it.each([
      [{ institutionId: 'nope' }, 'institutionId'],
      [{ orderId: '42' }, 'orderId'],
      [{ account: 'petty_cash' }, 'account'],
      [{ kind: 'DROP TABLE' }, 'kind'],
      [{ from: 'last week' }, 'from'],
      [{ to: '2026-13-01T00:00:00Z' }, 'to'],
      [{ from: '2026-03-02T00:00:00Z', to: '2026-03-01T00:00:00Z' }, 'to'],
      [{ cursor: 'forged' }, 'cursor'],
      [{ limit: 0 }, 'limit'],
      [{ limit: 201 }, 'limit'],
      [{ amountFen: 1 }, 'amountFen'],
    ])('%j → 400 naming %s', async (query, field) => {
      const response = await journal(query as Record<string, string>).expect(400);
      expect(response.body.code).toBe('VALIDATION_FAILED');
      expect(response.body.errors.map((e: { field: string }) => e.field)).toContain(field);
    });

    it('streams the whole filtered journal as RFC 4180 CSV', async () => {
      const json = await all({ institutionId: school.institution.id }, 200);
      const response = await journal({ institutionId: school.institution.id })
        .set('Accept', 'text/csv')
        .expect(200);
      expect(response.headers['content-type']).toBe('text/csv; charset=utf-8');
      expect(response.headers['content-disposition']).toContain('journal.csv');
      const lines = response.text.split('\r\n');
      expect(lines.pop()).toBe('');
      expect(lines[0]).toBe(
        'posting_id,recorded_at,transaction_id,seq,kind,reference,institution_id,account_id,' +
          'account_code,order_id,phase,debit_fen,credit_fen,account_version,posted_debits_after,' +
          'posted_credits_after,pending_debits_after,pending_credits_after,effective_at,manual,' +
          'pending_id,resolution,reversal_of',
      );
      expect(lines.slice(1).map((l) => l.split(',')[0])).toEqual(json.map((e) => e.postingId));
      const manual = lines.filter((l) => l.includes('manual_adjustment'));
      expect(manual).toHaveLength(2);
      expect(manual[0]).toMatch(/,"manual:[0-9a-f-]+:""a, b""",/);
      const custody = lines.find((l) => l.includes(',custody_cash,'))?.split(',') ?? [];
      expect(custody.slice(10, 13)).toEqual(['posted', '40000', '0']);
    });

    describe('a journal longer than one cursor batch', () => {
      let bulk: InstitutionFixture;
      const transactions = Math.ceil((EXPORT_BATCH * 2.5) / 2);

      beforeAll(async () => {
        bulk = await createInstitution(dataSource, { districtId });
        // Through the real triggers, custody_cash 1 fen each into suspense, in short statements:
        // one long transaction would hold back the sealing horizon of every database.
        for (let done = 0; done < transactions; done += 500) {
          await dataSource.query(
            `WITH tx AS (
               INSERT INTO ledger_transactions (kind, reference, institution_id)
               SELECT 'manual_adjustment', 'bulk:' || $1 || ':' || g, $1::uuid
               FROM generate_series($2::int, $3::int) g RETURNING id)
             INSERT INTO ledger_postings (transaction_id, account_id, phase, amount)
             SELECT tx.id, leg.account_id, 'posted', leg.amount
             FROM tx CROSS JOIN (VALUES ($4::uuid, 1), ($5::uuid, -1)) AS leg(account_id, amount)
             ORDER BY leg.account_id, tx.id`,
            [
              bulk.institution.id,
              done + 1,
              Math.min(done + 500, transactions),
              bulk.accounts.custody_cash,
              bulk.accounts.suspense,
            ],
          );
        }
      });

      const exportActivity = () =>
        dataSource.query<{ n: number }[]>(
          `SELECT count(*)::int AS n FROM pg_stat_activity
           WHERE datname = current_database() AND query LIKE 'FETCH FORWARD%journal_export'
             AND state = 'idle in transaction'`,
        );

      it('exports every row, batch after batch, then lets the connection go', async () => {
        const response = await journal({ institutionId: bulk.institution.id })
          .set('Accept', 'text/csv')
          .expect(200);
        const lines = response.text.split('\r\n').filter((line) => line !== '');
        expect(lines).toHaveLength(1 + transactions * 2);
        const ids = lines.slice(1).map((line) => BigInt(line.split(',')[0]));
        expect(new Set(ids).size).toBe(ids.length);
        const custody = lines.filter((line) => line.includes(',custody_cash,'));
        expect(custody).toHaveLength(transactions);
        expect(custody[custody.length - 1].split(',')[14]).toBe(String(transactions));
        const [{ n }] = await eventually(exportActivity, ([row]) => row.n === 0);
        expect(n).toBe(0);
      });

      it('closes the cursor when the client goes away mid-export', async () => {
        const server = t.http.listen(0);
        try {
          const { port } = server.address() as AddressInfo;
          await new Promise<void>((resolve, reject) => {
            const call = httpGet(
              {
                port,
                path: `/v1/audit/journal?institutionId=${bulk.institution.id}`,
                headers: { Accept: 'text/csv', Authorization: as.auditor(districtId) },
              },
              (response) => {
                response.once('data', () => {
                  call.destroy();
                  resolve();
                });
              },
            );
            call.on('error', (error: NodeJS.ErrnoException) => {
              if (error.code !== 'ECONNRESET') reject(error);
            });
          });
          const [{ n }] = await eventually(exportActivity, ([row]) => row.n === 0);
          expect(n).toBe(0);
        } finally {
          await new Promise((resolve) => server.close(resolve));
        }
      });
    });

    it('refuses a page size on a CSV export', async () => {
      const response = await journal({ limit: 10 }).set('Accept', 'text/csv').expect(400);
      expect(response.body.code).toBe('VALIDATION_FAILED');
    });
  });

  describe('GET /v1/audit/orders/:id/history', () => {
    let school: InstitutionFixture;
    let order: Order;
    let disputed: { lessonId: string; holdId: string };
    let confirmed: { lessonId: string; holdId: string; settleId: string | null };
    let refund: { refundId: string; payoutId: string };

    beforeAll(async () => {
      const built = await schoolWithOrders(dataSource, 0);
      school = built.school;
      order = await createOrder(dataSource, {
        institution: school.institution,
        course: built.course,
      });
      await sendBankNotification(
        t.http,
        t.config,
        paymentNotification(school.custodyAccountNo, order.paymentReference, order.amountFen),
      ).expect(200);
      confirmed = await recordLesson(dataSource, school, order, 1, { status: 'confirmed' });
      disputed = await recordLesson(dataSource, school, order, 2, { status: 'disputed' });
      // A refund's payout touches no escrow: found through the refund's bank instruction.
      refund = await paidRefund(dataSource, school, order, 8_000);
    });

    it('lists every event and every posting of the order', async () => {
      const response = await request(t.http)
        .get(`/v1/audit/orders/${order.id}/history`)
        .set('Authorization', as.auditor(school.institution.districtId))
        .expect(200);
      const body = response.body;
      expect(body.order).toMatchObject({ id: order.id, status: 'active', amountFen: 40_000 });
      expect(body.escrow).toEqual({
        postedFen: 28_000,
        pendingDebitsFen: 4_000,
        availableFen: 24_000,
      });
      expect(body.events.map((e: { type: string }) => e.type)).toEqual([
        'order_placed',
        'payment_received',
        'lesson_recorded',
        'lesson_confirmed',
        'lesson_recorded',
        'lesson_disputed',
        'refund_requested',
        'refund_approved',
        'refund_paid',
      ]);
      expect(body.events[3]).toMatchObject({
        lessonId: confirmed.lessonId,
        transactionId: confirmed.settleId,
        actor: order.parentId,
        amountFen: 4_000,
        details: { rating: 5 },
      });
      expect(body.events[5]).toMatchObject({
        lessonId: disputed.lessonId,
        details: { reason: 'teacher absent' },
      });
      expect(body.transactions.map((tx: { kind: string }) => tx.kind)).toEqual([
        'payment_received',
        'lesson_hold',
        'lesson_release',
        'lesson_hold',
        'refund_requested',
        'refund_approved',
        'refund_paid',
      ]);
      expect(body.events[8]).toMatchObject({
        type: 'refund_paid',
        actor: 'bank',
        amountFen: 8_000,
        transactionId: refund.payoutId,
        details: { refundId: refund.refundId },
      });
      expect(body.events[1].transactionId).toBe(body.transactions[0].transactionId);
      const postings = body.transactions.flatMap(
        (tx: { postings: { debitFen: number; creditFen: number }[] }) => tx.postings,
      );
      expect(postings).toHaveLength(2 + 2 + 4 + 2 + 2 + 4 + 2);
      expect(
        postings.reduce(
          (s: number, p: { debitFen: number; creditFen: number }) => s + p.debitFen - p.creditFen,
          0,
        ),
      ).toBe(0);
      expect(
        body.transactions.every(
          (tx: { sealedInBlock: unknown }) =>
            tx.sealedInBlock === null || typeof tx.sealedInBlock === 'number',
        ),
      ).toBe(true);
    });

    it('answers 404 to another district, and 400 to a malformed id or a query', async () => {
      await request(t.http)
        .get(`/v1/audit/orders/${order.id}/history?verbose=1`)
        .set('Authorization', as.auditor(school.institution.districtId))
        .expect(400);
      const response = await request(t.http)
        .get(`/v1/audit/orders/${order.id}/history`)
        .set('Authorization', as.auditor(newDistrictId()))
        .expect(404);
      expect(response.body.code).toBe('ORDER_NOT_FOUND');
      expect(JSON.stringify(response.body)).not.toContain(order.paymentReference);
      await request(t.http)
        .get('/v1/audit/orders/123/history')
        .set('Authorization', as.auditor(school.institution.districtId))
        .expect(400);
    });
  });
});
