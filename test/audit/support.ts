/** Fixtures for the audit tests: books with some history, instants, throwaway databases. */
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { DataSource, EntityManager } from 'typeorm';
import { cursorTimeSql } from '../../src/common/pagination/cursor';
import { dropDatabase } from '../../src/database/ensure-database';
import { prepareDatabase } from '../../src/database/migrate';
import { throwawayDatabaseUrl } from '../support/test-database';
import { LedgerService } from '../../src/ledger/ledger.service';
import { Order } from '../../src/orders/entities/order.entity';
import {
  InstitutionFixture,
  createCourse,
  createInstitution,
  createOrder,
  payOrder,
} from '../support/factories';

export const ledger = new LedgerService();

/** The database clock now, as the audit API writes instants (UTC, microseconds). */
export async function dbNow(dataSource: DataSource): Promise<string> {
  const [{ now }] = await dataSource.query(`SELECT ${cursorTimeSql('clock_timestamp()')} AS now`);
  return now as string;
}

export interface LessonOptions {
  status?: 'awaiting_confirmation' | 'confirmed' | 'disputed';
  feeFen?: number;
}

/** A delivered lesson with its fee held, and confirmed (fee released) or disputed. */
export async function recordLesson(
  dataSource: DataSource,
  school: InstitutionFixture,
  order: Order,
  sequence: number,
  options: LessonOptions = {},
): Promise<{ lessonId: string; holdId: string; settleId: string | null }> {
  const status = options.status ?? 'confirmed';
  const feeFen = options.feeFen ?? order.lessonPriceFen;
  const lessonId = randomUUID();
  return dataSource.transaction(async (manager: EntityManager) => {
    const holdId = await ledger.hold(manager, {
      kind: 'lesson_hold',
      reference: `lesson:${lessonId}:hold`,
      institutionId: order.institutionId,
      transfers: [
        {
          debitAccountId: order.escrowAccountId,
          creditAccountId: school.accounts.settlement_payable,
          amountFen: feeFen,
        },
      ],
      metadata: { lessonId, orderId: order.id, sequence },
    });
    const settleId =
      status === 'confirmed'
        ? await ledger.postPending(manager, {
            pendingId: holdId,
            kind: 'lesson_release',
            reference: `lesson:${lessonId}:release`,
            metadata: { lessonId, orderId: order.id },
          })
        : null;
    await manager.query(
      `INSERT INTO lessons (id, order_id, institution_id, sequence, delivered_at, fee_fen, status,
         hold_transaction_id, settle_transaction_id, confirmed_at, confirmed_by, rating,
         disputed_at, dispute_reason, recorded_by)
       VALUES ($1, $2, $3, $4::int, now() - interval '1 hour' * $4::int, $5, $6::text, $7, $8,
         CASE WHEN $6 = 'confirmed' THEN clock_timestamp() END,
         CASE WHEN $6 = 'confirmed' THEN $9 END, CASE WHEN $6 = 'confirmed' THEN 5 END,
         CASE WHEN $6 = 'disputed' THEN clock_timestamp() END,
         CASE WHEN $6 = 'disputed' THEN 'teacher absent' END, 'staff-1')`,
      [
        lessonId,
        order.id,
        order.institutionId,
        sequence,
        feeFen,
        status,
        holdId,
        settleId,
        order.parentId,
      ],
    );
    return { lessonId, holdId, settleId };
  });
}

/** An institution with a course and `orders` paid orders of `lessons` × 4,000 fen. */
export async function schoolWithOrders(
  dataSource: DataSource,
  orders: number,
  overrides: Parameters<typeof createInstitution>[1] = {},
) {
  const school = await createInstitution(dataSource, overrides);
  const course = await createCourse(dataSource, school.institution.id);
  const paid: Order[] = [];
  for (let i = 0; i < orders; i++) {
    const order = await createOrder(dataSource, { institution: school.institution, course });
    paid.push(await payOrder(dataSource, school, order));
  }
  return { school, course, orders: paid };
}

/** Waits for a background effect (the audit trail is written after the response). */
export async function eventually<T>(
  probe: () => Promise<T>,
  done: (value: T) => boolean,
  timeoutMs = 5_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A database of one's own, migrated, for tests that tamper with the books; drop it after. */
export async function createThrowawayDatabase(
  label: string,
): Promise<{ url: string; drop: () => Promise<void> }> {
  const databaseUrl = throwawayDatabaseUrl(label);
  await prepareDatabase({ databaseUrl });
  return { url: databaseUrl, drop: () => dropDatabase(databaseUrl) };
}

/** Collects a streamed response body as text (supertest buffers only known text types). */
export function textBody(
  res: request.Response & NodeJS.ReadableStream,
  callback: (error: Error | null, body: string) => void,
): void {
  let body = '';
  res.setEncoding('utf8');
  res.on('data', (chunk: string) => (body += chunk));
  res.on('end', () => callback(null, body));
}

/**
 * A refund as the refund workflow books it, paid out: held (order_escrow → refund_payable,
 * pending), approved (posted), then paid by the bank (refund_payable → custody_cash) through a
 * succeeded bank instruction.
 */
export async function paidRefund(
  dataSource: DataSource,
  school: InstitutionFixture,
  order: Order,
  amountFen: number,
): Promise<{ refundId: string; payoutId: string }> {
  const refundId = randomUUID();
  const instructionId = randomUUID();
  return dataSource.transaction(async (manager: EntityManager) => {
    const holdId = await ledger.hold(manager, {
      kind: 'refund_requested',
      reference: `refund:${refundId}:hold`,
      institutionId: order.institutionId,
      metadata: { refundId, orderId: order.id, reason: 'mid_course' },
      transfers: [
        {
          debitAccountId: order.escrowAccountId,
          creditAccountId: school.accounts.refund_payable,
          amountFen,
        },
      ],
    });
    const approvalId = await ledger.postPending(manager, {
      pendingId: holdId,
      kind: 'refund_approved',
      reference: `refund:${refundId}:approve`,
      metadata: { refundId, via: 'institution' },
    });
    const payoutId = await ledger.post(manager, {
      kind: 'refund_paid',
      reference: `instruction:${instructionId}:paid`,
      institutionId: order.institutionId,
      metadata: { instructionId, bankTxnId: null },
      transfers: [
        {
          debitAccountId: school.accounts.refund_payable,
          creditAccountId: school.accounts.custody_cash,
          amountFen,
        },
      ],
    });
    await manager.query(
      `INSERT INTO bank_instructions (id, purpose, subject_id, institution_id, from_account_no,
         to_bank_code, to_account_no, to_account_name, amount_fen, status,
         completion_transaction_id, created_by, completed_at)
       VALUES ($1, 'refund', $2, $3, $4, 'CMB', '6214830212345678', 'Parent', $5, 'succeeded',
         $6, 'staff-1', clock_timestamp())`,
      [instructionId, refundId, order.institutionId, school.custodyAccountNo, amountFen, payoutId],
    );
    await manager.query(
      `INSERT INTO refunds (id, order_id, institution_id, district_id, parent_id, reason,
         amount_fen, status, requested_by, requested_at, hold_transaction_id,
         approval_transaction_id, decided_by, decided_at, approved_via, instruction_id, paid_at)
       VALUES ($1, $2, $3, $4, $5, 'mid_course', $6, 'paid', $5, now(), $7, $8, 'staff-1',
         now(), 'institution', $9, clock_timestamp())`,
      [
        refundId,
        order.id,
        order.institutionId,
        order.districtId,
        order.parentId,
        amountFen,
        holdId,
        approvalId,
        instructionId,
      ],
    );
    return { refundId, payoutId };
  });
}
