/**
 * The whole story through the public API only: register an institution, sell a course, take the
 * payment into custody, record and confirm lessons, settle, refund the rest — with the books
 * checked to the fen at every step.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { LedgerService } from '../../src/ledger/ledger.service';
import { paymentNotification, sendBankNotification } from '../support/bank';
import { isoDate, newDistrictId } from '../support/factories';
import { FakeBankGateway } from '../support/fake-bank-gateway';
import { expectInstitutionInvariant } from '../support/invariant';
import {
  LedgerTestApp,
  closeWithBooksBalanced,
  createBankDoubleTestApp,
} from '../support/ledger-app';
import { eventually } from '../support/waiting';

describe('the whole story (HTTP)', () => {
  let t: LedgerTestApp;
  let dataSource: DataSource;
  const ledger = new LedgerService();

  beforeAll(async () => {
    t = await createBankDoubleTestApp(new FakeBankGateway());
    dataSource = t.dataSource;
  });

  afterAll(() => closeWithBooksBalanced(t));

  it('takes a parent’s money into custody and releases it lesson by lesson', async () => {
    const as = t.as;
    const district = newDistrictId();
    const operator = as.operator(district);
    const digits = () => String(BigInt(`0x${randomBytes(6).toString('hex')}`)).padStart(12, '0');

    // 1. The bureau registers the institution with its two bank accounts.
    const custodyAccountNo = `6222${digits()}`;
    const institution = (
      await request(t.http)
        .post('/v1/institutions')
        .set('Authorization', operator)
        .send({
          name: '龙泉驿启明培训学校',
          licenseNo: `LIC-${randomUUID()}`,
          districtId: district,
          custodyAccount: {
            bankCode: 'ICBC',
            accountNo: custodyAccountNo,
            accountName: '启明 监管账户',
          },
          settlementAccount: { bankCode: 'BOC', accountNo: `6228${digits()}`, accountName: '启明' },
        })
        .expect(201)
    ).body;
    const staff = as.institution({ ...institution, districtId: district });

    // 2. The institution offers a course within the guided price: 12 pupils, 45 minutes, 40 yuan.
    const course = (
      await request(t.http)
        .post('/v1/courses')
        .set('Authorization', staff)
        .send({
          title: '五年级数学',
          category: 'subject',
          lessonCount: 30,
          lessonMinutes: 45,
          classSize: 12,
          priceFen: 4_000,
          startsOn: isoDate(-7),
          endsOn: isoDate(60),
        })
        .expect(201)
    ).body;

    // 3. A parent buys 10 lessons and 1 bonus lesson, and pays the reference into custody.
    const parentId = `parent-${randomUUID()}`;
    const parent = as.parent(parentId);
    const institutionView = await request(t.http)
      .get(`/v1/institutions/${institution.id}`)
      .set('Authorization', parent)
      .expect(200);
    expect(institutionView.body.custodyAccount.accountNo).toBe(custodyAccountNo);
    const order = (
      await request(t.http)
        .post('/v1/orders')
        .set('Authorization', parent)
        .set('Idempotency-Key', randomUUID())
        .send({ courseId: course.id, lessons: 10, bonusLessons: 1, studentName: '王小明' })
        .expect(201)
    ).body;
    expect(order).toMatchObject({ status: 'pending_payment', amountFen: 40_000 });
    await sendBankNotification(
      t.http,
      t.config,
      paymentNotification(custodyAccountNo, order.paymentReference, 40_000),
    ).expect(200);

    // 4. Three lessons are delivered; the parent confirms two, with a rating.
    const lessonIds: string[] = [];
    for (const daysAgo of [3, 2, 1]) {
      const lesson = await request(t.http)
        .post('/v1/lessons')
        .set('Authorization', staff)
        .send({
          orderId: order.id,
          deliveredAt: new Date(Date.now() - daysAgo * 86_400_000).toISOString(),
        })
        .expect(201);
      expect(lesson.body).toMatchObject({ status: 'awaiting_confirmation', feeFen: 4_000 });
      lessonIds.push(lesson.body.id);
    }
    const confirmed = await request(t.http)
      .post(`/v1/lessons/${lessonIds[0]}/confirm`)
      .set('Authorization', parent)
      .set('Idempotency-Key', randomUUID())
      .send({ rating: 5, comment: '老师很耐心' })
      .expect(200);
    expect(confirmed.body).toMatchObject({ status: 'confirmed', feeFen: 4_000 });
    await request(t.http)
      .post(`/v1/lessons/${lessonIds[1]}/confirm`)
      .set('Authorization', parent)
      .send({})
      .expect(200);

    const orderNow = async () =>
      (await request(t.http).get(`/v1/orders/${order.id}`).set('Authorization', parent).expect(200))
        .body;
    expect(await orderNow()).toMatchObject({
      status: 'active',
      paidFen: 40_000,
      releasedFen: 8_000,
      heldFen: 4_000,
      refundedFen: 0,
      refundableFen: 28_000,
      lessonsConsumed: 2,
      lessonsHeld: 1,
    });
    const accounts = await dataSource.transaction((m) =>
      ledger.institutionAccounts(m, institution.id),
    );
    const balances = async () => {
      const rows = await dataSource.transaction((m) =>
        ledger.balances(m, [
          accounts.custody_cash,
          accounts.settlement_payable,
          accounts.refund_payable,
        ]),
      );
      const of = (id: string) => rows.find((r) => r.accountId === id)!.postedFen;
      return {
        custody: of(accounts.custody_cash),
        settlementPayable: of(accounts.settlement_payable),
        refundPayable: of(accounts.refund_payable),
      };
    };
    expect(await balances()).toEqual({
      custody: 40_000,
      settlementPayable: 8_000,
      refundPayable: 0,
    });
    await expectInstitutionInvariant(dataSource, institution.id);

    // 5. The bureau settles the released fees to the institution.
    const run = await request(t.http)
      .post('/v1/settlements/run')
      .set('Authorization', operator)
      .expect(202);
    const [batch] = run.body.batches;
    expect(batch).toMatchObject({ amountFen: 8_000, lessonCount: 2 });
    await eventually(async () => {
      const { body } = await request(t.http)
        .get(`/v1/settlements/${batch.id}`)
        .set('Authorization', staff);
      return body.status === 'paid' ? body : undefined;
    });
    expect(await balances()).toEqual({ custody: 32_000, settlementPayable: 0, refundPayable: 0 });

    // 6. The parent asks for the rest back; the institution agrees; the bank pays it.
    const refund = await request(t.http)
      .post(`/v1/orders/${order.id}/refunds`)
      .set('Authorization', parent)
      .send({ reason: 'mid_course', note: '搬家' })
      .expect(202);
    expect(refund.body).toMatchObject({ status: 'requested', amountFen: 28_000 });
    await request(t.http)
      .post(`/v1/refunds/${refund.body.id}/approve`)
      .set('Authorization', staff)
      .expect(200);
    await eventually(async () => {
      const { body } = await request(t.http)
        .get(`/v1/refunds/${refund.body.id}`)
        .set('Authorization', parent);
      return body.status === 'paid' ? body : undefined;
    });
    // The held lesson's fee stays in custody until the parent confirms or disputes it.
    expect(await balances()).toEqual({ custody: 4_000, settlementPayable: 0, refundPayable: 0 });
    expect(await orderNow()).toMatchObject({
      refundedFen: 28_000,
      heldFen: 4_000,
      refundableFen: 0,
    });
    await expectInstitutionInvariant(dataSource, institution.id);
  });
});
