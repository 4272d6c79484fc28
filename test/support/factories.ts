/**
 * Test data written straight to the database (with the ledger accounts the real use cases open),
 * so that a test of one endpoint does not depend on every other endpoint. Override any field.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { AppConfig } from '../../src/config/config';
import { Course } from '../../src/courses/course.entity';
import { Institution } from '../../src/institutions/entities/institution.entity';
import { InstitutionBankAccount } from '../../src/institutions/entities/institution-bank-account.entity';
import { AccountCode } from '../../src/ledger/chart-of-accounts';
import { LedgerService } from '../../src/ledger/ledger.service';
import { CONTRACT_VERSION, Order } from '../../src/orders/entities/order.entity';
import { bearer } from './app';

const ledger = new LedgerService();
const digits = (n: number) => Array.from(randomBytes(n), (b) => String(b % 10)).join('');

export const newDistrictId = () => `d-${randomBytes(4).toString('hex')}`;

/** ISO date `days` from today (negative for the past), in UTC. */
export function isoDate(days = 0): string {
  return new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);
}

export interface InstitutionFixture {
  institution: Institution;
  custodyAccountNo: string;
  settlementAccountNo: string;
  accounts: Record<AccountCode, string>;
}

export async function createInstitution(
  dataSource: DataSource,
  overrides: Partial<Institution> = {},
): Promise<InstitutionFixture> {
  return dataSource.transaction(async (manager) => {
    const institution = await manager.save(
      manager.create(Institution, {
        name: `Bright Minds ${digits(4)}`,
        licenseNo: `LIC-${digits(10)}`,
        districtId: newDistrictId(),
        status: 'active',
        createdBy: 'factory',
        ...overrides,
      }),
    );
    const custodyAccountNo = `6222${digits(12)}`;
    const settlementAccountNo = `6228${digits(12)}`;
    await manager.save(InstitutionBankAccount, [
      {
        institutionId: institution.id,
        kind: 'custody',
        bankCode: 'ICBC',
        accountNo: custodyAccountNo,
        accountName: `${institution.name} custody`,
      },
      {
        institutionId: institution.id,
        kind: 'settlement',
        bankCode: 'BOC',
        accountNo: settlementAccountNo,
        accountName: institution.name,
      },
    ]);
    const accounts = await ledger.openInstitutionAccounts(manager, institution.id);
    return { institution, custodyAccountNo, settlementAccountNo, accounts };
  });
}

export async function createCourse(
  dataSource: DataSource,
  institutionId: string,
  overrides: Partial<Course> = {},
): Promise<Course> {
  return dataSource.manager.save(
    dataSource.manager.create(Course, {
      institutionId,
      title: 'Grade 5 Mathematics',
      category: 'subject',
      lessonCount: 30,
      lessonMinutes: 45,
      classSize: 12,
      priceFen: 4_000,
      startsOn: isoDate(-7),
      endsOn: isoDate(60),
      createdBy: 'factory',
      ...overrides,
    }),
  );
}

/** An order awaiting payment, with its escrow account open. */
export async function createOrder(
  dataSource: DataSource,
  fixture: { institution: Institution; course: Course },
  overrides: Partial<Order> = {},
): Promise<Order> {
  return dataSource.transaction(async (manager) => {
    const id = overrides.id ?? randomUUID();
    const lessonsPaid = overrides.lessonsPaid ?? 10;
    const lessonPriceFen = overrides.lessonPriceFen ?? fixture.course.priceFen;
    const escrowAccountId = await ledger.openAccount(manager, {
      code: 'order_escrow',
      institutionId: fixture.institution.id,
      orderId: id,
    });
    return manager.save(
      manager.create(Order, {
        id,
        institutionId: fixture.institution.id,
        districtId: fixture.institution.districtId,
        courseId: fixture.course.id,
        parentId: `parent-${digits(6)}`,
        studentName: 'Xiao Ming',
        lessonsPaid,
        bonusLessons: 0,
        lessonPriceFen,
        amountFen: lessonsPaid * lessonPriceFen,
        paymentReference: `PAY${randomBytes(10).toString('hex').toUpperCase()}`,
        contractVersion: CONTRACT_VERSION,
        status: 'pending_payment',
        escrowAccountId,
        firstLessonOn: fixture.course.startsOn,
        lastLessonOn: fixture.course.endsOn,
        ...overrides,
      }),
    );
  });
}

/** Books the order's payment into custody as the bank notification would, and activates it. */
export async function payOrder(
  dataSource: DataSource,
  fixture: InstitutionFixture,
  order: Order,
): Promise<Order> {
  return dataSource.transaction(async (manager) => {
    await ledger.post(manager, {
      kind: 'payment_received',
      reference: `payment:${order.id}`,
      institutionId: order.institutionId,
      transfers: [
        {
          debitAccountId: fixture.accounts.custody_cash,
          creditAccountId: order.escrowAccountId,
          amountFen: order.amountFen,
        },
      ],
    });
    await manager.update(Order, order.id, {
      status: 'active',
      paidAt: new Date(),
      payerBankCode: 'CMB',
      payerAccountNo: `6214${digits(12)}`,
      payerAccountName: 'Parent',
    });
    return manager.findOneByOrFail(Order, { id: order.id });
  });
}

/** Bearer tokens for each role, scoped to the given fixture. */
export const tokens = (config: AppConfig) => ({
  parent: (parentId: string) => bearer(config, { sub: parentId, role: 'parent' }),
  institution: (institution: Institution, sub = 'staff-1') =>
    bearer(config, {
      sub,
      role: 'institution',
      institutionId: institution.id,
      districtId: institution.districtId,
    }),
  operator: (districtId: string, sub = 'op-1') =>
    bearer(config, { sub, role: 'operator', districtId }),
  auditor: (districtId: string, sub = 'aud-1') =>
    bearer(config, { sub, role: 'auditor', districtId }),
});

/**
 * A lesson recorded and confirmed through the ledger as the lesson use cases do it: its fee held
 * order_escrow → settlement_payable, then posted. For tests of what happens after release.
 */
export async function createReleasedLesson(
  dataSource: DataSource,
  fixture: InstitutionFixture,
  order: Order,
  sequence: number,
  feeFen = order.lessonPriceFen,
): Promise<string> {
  return dataSource.transaction(async (manager) => {
    const id = randomUUID();
    const holdId = await ledger.hold(manager, {
      kind: 'lesson_hold',
      reference: `lesson:${id}:hold`,
      institutionId: order.institutionId,
      transfers: [
        {
          debitAccountId: order.escrowAccountId,
          creditAccountId: fixture.accounts.settlement_payable,
          amountFen: feeFen,
        },
      ],
    });
    const releaseId = await ledger.postPending(manager, {
      pendingId: holdId,
      kind: 'lesson_release',
      reference: `lesson:${id}:release`,
    });
    await manager.query(
      `INSERT INTO lessons (id, order_id, institution_id, sequence, delivered_at, fee_fen, status,
                            hold_transaction_id, settle_transaction_id, confirmed_at, confirmed_by, recorded_by)
       VALUES ($1, $2, $3, $4, now() - make_interval(mins => $4), $5, 'confirmed', $6, $7, now(), $8, 'factory')`,
      [id, order.id, order.institutionId, sequence, feeFen, holdId, releaseId, order.parentId],
    );
    return id;
  });
}

/**
 * A paid (active) order with the defaults above (10 lessons × 4,000 fen) and its first `released`
 * lessons confirmed; from `school`'s institution, or a new one.
 */
export async function createPaidOrder(
  dataSource: DataSource,
  {
    school,
    released = 0,
    course: courseOverrides,
    order: orderOverrides,
  }: {
    school?: InstitutionFixture;
    released?: number;
    course?: Partial<Course>;
    order?: Partial<Order>;
  } = {},
): Promise<{ school: InstitutionFixture; course: Course; order: Order }> {
  const fixture = school ?? (await createInstitution(dataSource));
  const course = await createCourse(dataSource, fixture.institution.id, courseOverrides);
  const order = await payOrder(
    dataSource,
    fixture,
    await createOrder(dataSource, { institution: fixture.institution, course }, orderOverrides),
  );
  for (let sequence = 1; sequence <= released; sequence++) {
    await createReleasedLesson(dataSource, fixture, order, sequence);
  }
  return { school: fixture, course, order };
}
