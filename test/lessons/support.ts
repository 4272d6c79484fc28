/** Fixtures and calls the lesson tests share: paid orders, recorded lessons, ledger balances. */
import request from 'supertest';
import { DataSource } from 'typeorm';
import { Course } from '../../src/courses/course.entity';
import { AccountBalance, LedgerService } from '../../src/ledger/ledger.service';
import { Order } from '../../src/orders/entities/order.entity';
import { TestApp } from '../support/app';
import { InstitutionFixture, createPaidOrder } from '../support/factories';

export interface PaidOrder {
  fixture: InstitutionFixture;
  course: Course;
  order: Order;
}

/** An active (paid) order; pass `fixture` to buy from an existing institution. */
export async function paidOrder(
  dataSource: DataSource,
  options: {
    fixture?: InstitutionFixture;
    course?: Partial<Course>;
    order?: Partial<Order>;
  } = {},
): Promise<PaidOrder> {
  const { school, course, order } = await createPaidOrder(dataSource, {
    school: options.fixture,
    course: options.course,
    order: options.order,
  });
  return { fixture: school, course, order };
}

/** An instant written in China time (+08:00), as an institution's system would send it. */
export function chinaTime(instant: Date): string {
  return new Date(instant.getTime() + 8 * 3_600_000).toISOString().replace('Z', '+08:00');
}

/** `minutes` ago, in China time. */
export const minutesAgo = (minutes: number) => chinaTime(new Date(Date.now() - minutes * 60_000));

export function recordLesson(
  t: TestApp,
  token: string,
  body: Record<string, unknown>,
  idempotencyKey?: string,
) {
  const call = request(t.http).post('/v1/lessons').set('Authorization', token);
  if (idempotencyKey) call.set('Idempotency-Key', idempotencyKey);
  return call.send(body);
}

export function lessonCommand(
  t: TestApp,
  token: string,
  path: string,
  body: Record<string, unknown> = {},
  idempotencyKey?: string,
) {
  const call = request(t.http).post(path).set('Authorization', token);
  if (idempotencyKey) call.set('Idempotency-Key', idempotencyKey);
  return call.send(body);
}

export interface OrderBooks {
  escrow: AccountBalance;
  payable: AccountBalance;
}

/** The order's escrow and its institution's settlement_payable, now. */
export async function booksOf(t: TestApp, paid: PaidOrder): Promise<OrderBooks> {
  const [escrow, payable] = await Promise.all([
    t.app.get(LedgerService).balance(t.app.get(DataSource).manager, paid.order.escrowAccountId),
    t.app
      .get(LedgerService)
      .balance(t.app.get(DataSource).manager, paid.fixture.accounts.settlement_payable),
  ]);
  return { escrow, payable };
}

/** How many ledger transactions a lesson has of each kind. */
export async function ledgerKindsOf(t: TestApp, lessonId: string): Promise<Record<string, number>> {
  const rows: { kind: string; count: number }[] = await t.app.get(DataSource).query(
    `SELECT kind, count(*)::int AS count FROM ledger_transactions
       WHERE reference LIKE $1 GROUP BY kind`,
    [`lesson:${lessonId}:%`],
  );
  return Object.fromEntries(rows.map((row) => [row.kind, row.count]));
}

export async function lessonRow(t: TestApp, lessonId: string) {
  const [row] = await t.app
    .get(DataSource)
    .query('SELECT * FROM lessons WHERE id = $1', [lessonId]);
  return row as Record<string, unknown> | undefined;
}
