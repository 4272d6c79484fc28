/**
 * The ledger's guarantees, proven against real PostgreSQL: what must hold even when the
 * application code is wrong or bypassed.
 */
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { mirrorsOf } from '../../migrations/shared/ledger-functions';
import { DomainException } from '../../src/common/errors/domain.exception';
import { TransactionKind } from '../../src/ledger/chart-of-accounts';
import { LedgerErrorCode } from '../../src/ledger/ledger.errors';
import { LedgerService, Transfer } from '../../src/ledger/ledger.service';
import { openTestDataSource } from '../support/database';
import { eventually } from '../support/waiting';
import { expectBooksBalanced } from '../support/ledger-checks';

/** A post of a hold in plain SQL: its id, the hold's, the amount held and the amount moved. */
interface PostHeld {
  postId: string;
  holdId: string;
  heldFen: number;
  movedFen?: number;
}

describe('ledger (PostgreSQL)', () => {
  let dataSource: DataSource;
  const ledger = new LedgerService();

  beforeAll(async () => {
    dataSource = await openTestDataSource();
  });

  afterEach(async () => {
    await expectBooksBalanced(dataSource);
  });

  afterAll(async () => {
    await dataSource.destroy();
  });

  /** An institution with its accounts and one order whose escrow holds `escrowFen`. */
  async function fundedOrder(escrowFen: number) {
    const institutionId = randomUUID();
    const orderId = randomUUID();
    return dataSource.transaction(async (manager) => {
      const accounts = await ledger.openInstitutionAccounts(manager, institutionId);
      const escrow = await ledger.openAccount(manager, {
        code: 'order_escrow',
        institutionId,
        orderId,
      });
      if (escrowFen > 0) {
        await ledger.post(manager, {
          kind: 'payment_received',
          reference: `payment:${orderId}`,
          institutionId,
          transfers: [
            {
              debitAccountId: accounts.custody_cash,
              creditAccountId: escrow,
              amountFen: escrowFen,
            },
          ],
        });
      }
      return { institutionId, orderId, escrow, ...accounts };
    });
  }

  type FundedOrder = Awaited<ReturnType<typeof fundedOrder>>;

  const balanceOf = (accountId: string) =>
    dataSource.transaction((manager) => ledger.balance(manager, accountId));

  /** Moves `amountFen` from the order's escrow to its institution's settlement_payable. */
  const escrowToPayable = (order: FundedOrder, amountFen: number): Transfer => ({
    debitAccountId: order.escrow,
    creditAccountId: order.settlement_payable,
    amountFen,
  });

  /** Posts one transfer of the order's institution, in a transaction of its own. */
  const postTransfer = (
    order: FundedOrder,
    kind: TransactionKind,
    reference: string,
    transfer: Transfer,
  ) =>
    dataSource.transaction((manager) =>
      ledger.post(manager, {
        kind,
        reference,
        institutionId: order.institutionId,
        transfers: [transfer],
      }),
    );

  /** Holds a lesson fee of `amountFen` (escrow → settlement_payable); returns the hold's id. */
  const holdFee = (order: FundedOrder, amountFen: number, reference = `hold:${order.orderId}`) =>
    dataSource.transaction((manager) =>
      ledger.hold(manager, {
        kind: 'lesson_hold',
        reference,
        institutionId: order.institutionId,
        transfers: [escrowToPayable(order, amountFen)],
      }),
    );

  const postHold = (pendingId: string, reference: string) =>
    dataSource.transaction((manager) =>
      ledger.postPending(manager, { pendingId, kind: 'lesson_release', reference }),
    );

  const voidHold = (pendingId: string, reference: string) =>
    dataSource.transaction((manager) =>
      ledger.voidPending(manager, { pendingId, kind: 'lesson_void', reference }),
    );

  const codeOf = (error: unknown) => (error instanceof DomainException ? error.code : error);

  it('records a balanced transfer and reports both sides', async () => {
    const order = await fundedOrder(5000);
    expect(await balanceOf(order.custody_cash)).toMatchObject({
      postedFen: 5000,
      availableFen: 5000,
    });
    expect(await balanceOf(order.escrow)).toMatchObject({ postedFen: 5000, availableFen: 5000 });
  });

  it('lets exactly 10 of 50 concurrent 1-fen transfers out of 10 fen succeed', async () => {
    const order = await fundedOrder(10);
    const results = await Promise.allSettled(
      Array.from({ length: 50 }, (_, i) =>
        postTransfer(
          order,
          'lesson_release',
          `race:${order.orderId}:${i}`,
          escrowToPayable(order, 1),
        ),
      ),
    );
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(10);
    expect(new Set(failed.map((r) => codeOf(r.reason)))).toEqual(
      new Set([LedgerErrorCode.INSUFFICIENT_FUNDS]),
    );
    expect(await balanceOf(order.escrow)).toMatchObject({ postedFen: 0, availableFen: 0 });
    expect(await balanceOf(order.settlement_payable)).toMatchObject({ postedFen: 10 });
  });

  it('counts a hold as pending and excludes it from what is available', async () => {
    const order = await fundedOrder(300);
    const holdId = await holdFee(order, 120);
    expect(await balanceOf(order.escrow)).toEqual(
      expect.objectContaining({ postedFen: 300, pendingDebitsFen: 120, availableFen: 180 }),
    );
    expect(await balanceOf(order.settlement_payable)).toEqual(
      expect.objectContaining({ postedFen: 0, pendingCreditsFen: 120 }),
    );
    // A second hold larger than what is available is refused.
    await expect(holdFee(order, 181, `hold2:${order.orderId}`)).rejects.toMatchObject({
      code: LedgerErrorCode.INSUFFICIENT_FUNDS,
    });

    await postHold(holdId, `release:${order.orderId}`);
    expect(await balanceOf(order.escrow)).toEqual(
      expect.objectContaining({ postedFen: 180, pendingDebitsFen: 0, availableFen: 180 }),
    );
    expect(await balanceOf(order.settlement_payable)).toEqual(
      expect.objectContaining({ postedFen: 120, pendingCreditsFen: 0 }),
    );
  });

  it('returns a voided hold to the available balance', async () => {
    const order = await fundedOrder(300);
    const holdId = await holdFee(order, 300);
    await voidHold(holdId, `void:${order.orderId}`);
    expect(await balanceOf(order.escrow)).toEqual(
      expect.objectContaining({ postedFen: 300, pendingDebitsFen: 0, availableFen: 300 }),
    );
    expect(await balanceOf(order.settlement_payable)).toMatchObject({
      postedFen: 0,
      pendingCreditsFen: 0,
    });
  });

  it('lets exactly one of a concurrent post and void of one hold win', async () => {
    for (let round = 0; round < 10; round++) {
      const order = await fundedOrder(100);
      const holdId = await holdFee(order, 100);
      const [posted, voided] = await Promise.allSettled([
        postHold(holdId, `post:${order.orderId}`),
        voidHold(holdId, `void:${order.orderId}`),
      ]);
      const outcomes = [posted.status, voided.status].sort();
      expect(outcomes).toEqual(['fulfilled', 'rejected']);
      const loser = (posted.status === 'rejected' ? posted : voided) as PromiseRejectedResult;
      expect(codeOf(loser.reason)).toBe(LedgerErrorCode.PENDING_TRANSFER_ALREADY_RESOLVED);
      const payable = await balanceOf(order.settlement_payable);
      expect(payable.pendingCreditsFen).toBe(0);
      expect(payable.postedFen).toBe(posted.status === 'fulfilled' ? 100 : 0);
    }
  });

  it('refuses to post or void a hold a second time', async () => {
    const order = await fundedOrder(100);
    const holdId = await holdFee(order, 40);
    await postHold(holdId, `post1:${order.orderId}`);
    await expect(postHold(holdId, `post2:${order.orderId}`)).rejects.toMatchObject({
      code: LedgerErrorCode.PENDING_TRANSFER_ALREADY_RESOLVED,
    });
    expect(await balanceOf(order.settlement_payable)).toMatchObject({ postedFen: 40 });
  });

  it('does not deadlock when transfers cross the same accounts in opposite directions', async () => {
    const order = await fundedOrder(1000);
    await postTransfer(
      order,
      'lesson_release',
      `seed:${order.orderId}`,
      escrowToPayable(order, 500),
    );
    const results = await Promise.allSettled(
      Array.from({ length: 40 }, (_, i) =>
        postTransfer(
          order,
          'manual_adjustment',
          `cross:${order.orderId}:${i}`,
          i % 2 === 0
            ? escrowToPayable(order, 1)
            : {
                debitAccountId: order.settlement_payable,
                creditAccountId: order.escrow,
                amountFen: 1,
              },
        ),
      ),
    );
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    expect(await balanceOf(order.escrow)).toMatchObject({ postedFen: 500 });
  });

  it('refuses a second transaction with the same reference', async () => {
    const order = await fundedOrder(0);
    const pay = () =>
      postTransfer(order, 'payment_received', `once:${order.orderId}`, {
        debitAccountId: order.custody_cash,
        creditAccountId: order.escrow,
        amountFen: 70,
      });
    await pay();
    await expect(pay()).rejects.toMatchObject({ code: LedgerErrorCode.LEDGER_REFERENCE_EXISTS });
    expect(await balanceOf(order.escrow)).toMatchObject({ postedFen: 70 });
  });

  it('reverses a posted transaction exactly once', async () => {
    const order = await fundedOrder(0);
    const paymentId = await postTransfer(order, 'payment_received', `pay:${order.orderId}`, {
      debitAccountId: order.custody_cash,
      creditAccountId: order.escrow,
      amountFen: 90,
    });
    const reverse = (reference: string) =>
      dataSource.transaction((manager) =>
        ledger.reverse(manager, { transactionId: paymentId, reference }),
      );
    await reverse(`rev1:${order.orderId}`);
    await expect(reverse(`rev2:${order.orderId}`)).rejects.toMatchObject({
      code: LedgerErrorCode.ALREADY_REVERSED,
    });
    expect(await balanceOf(order.escrow)).toMatchObject({ postedFen: 0 });
    expect(await balanceOf(order.custody_cash)).toMatchObject({ postedFen: 0 });
  });

  it('lets exactly one of two concurrent reversals of one transaction win', async () => {
    for (let round = 0; round < 5; round++) {
      const order = await fundedOrder(0);
      const paymentId = await postTransfer(order, 'payment_received', `pay:${order.orderId}`, {
        debitAccountId: order.custody_cash,
        creditAccountId: order.escrow,
        amountFen: 90,
      });
      const outcomes = await Promise.allSettled(
        ['a', 'b'].map((side) =>
          dataSource.transaction((manager) =>
            ledger.reverse(manager, {
              transactionId: paymentId,
              reference: `rev-${side}:${order.orderId}`,
            }),
          ),
        ),
      );
      expect(outcomes.map((outcome) => outcome.status).sort()).toEqual(['fulfilled', 'rejected']);
      const loser = outcomes.find(
        (outcome) => outcome.status === 'rejected',
      ) as PromiseRejectedResult;
      expect(codeOf(loser.reason)).toBe(LedgerErrorCode.ALREADY_REVERSED);
      expect(await balanceOf(order.escrow)).toMatchObject({ postedFen: 0 });
    }
  });

  it('finds the posts, voids and reversals of transactions through the indexes of their links', async () => {
    // As ledger_check_transactions looks them up: a generic plan, never a sequential scan.
    const plan: { 'QUERY PLAN': string }[] = await dataSource.transaction(async (manager) => {
      await manager.query('SET LOCAL plan_cache_mode = force_generic_plan');
      await manager.query('SET LOCAL enable_seqscan = off');
      await manager.query(`PREPARE links (uuid[]) AS ${mirrorsOf('$1')}`);
      try {
        return await manager.query(`EXPLAIN EXECUTE links ('{${randomUUID()}}')`);
      } finally {
        await manager.query('DEALLOCATE links');
      }
    });
    const text = plan.map((row) => row['QUERY PLAN']).join('\n');
    expect(text).toMatch(/Index Scan on uq_ledger_transactions_pending_id/);
    expect(text).toMatch(/Index Scan on uq_ledger_transactions_reversal_of/);
    expect(text).not.toMatch(/Seq Scan/);
  });

  it('refuses amounts that are not whole positive fen', async () => {
    const order = await fundedOrder(10);
    for (const amountFen of [0, -5, 1.5, Number.MAX_SAFE_INTEGER + 2]) {
      await expect(
        postTransfer(order, 'manual_adjustment', `bad:${order.orderId}:${amountFen}`, {
          debitAccountId: order.escrow,
          creditAccountId: order.suspense,
          amountFen,
        }),
      ).rejects.toMatchObject({ code: LedgerErrorCode.INVALID_TRANSFER });
    }
  });

  describe('enforced by PostgreSQL itself', () => {
    /** Runs raw SQL statements in one transaction and returns the error, if any. */
    async function rawSql(
      ...statements: string[]
    ): Promise<{ code?: string; message: string } | undefined> {
      const runner = dataSource.createQueryRunner();
      await runner.connect();
      try {
        await runner.query('BEGIN');
        for (const sql of statements) await runner.query(sql);
        await runner.query('COMMIT');
        return undefined;
      } catch (error) {
        await runner.query('ROLLBACK').catch(() => undefined);
        const driver = (error as { driverError?: { code?: string } }).driverError;
        return { code: driver?.code, message: (error as Error).message };
      } finally {
        await runner.release();
      }
    }

    /** Plain SQL inserting a manual adjustment transaction. */
    const insertTransaction = (txId: string, institutionId: string) =>
      `INSERT INTO ledger_transactions (id, kind, reference, institution_id)
       VALUES ('${txId}', 'manual_adjustment', 'raw:${txId}', '${institutionId}')`;

    /** Plain SQL inserting posted postings ([account, amount] pairs) into a transaction. */
    const insertPostings = (txId: string, ...legs: [string, number][]) =>
      `INSERT INTO ledger_postings (transaction_id, account_id, phase, amount) VALUES ${legs
        .map(([account, amount]) => `('${txId}', '${account}', 'posted', ${amount})`)
        .join(', ')}`;

    /** One posting of the order's escrow account: its id and its ledger transaction's. */
    async function onePosting(order: { escrow: string }) {
      const [row] = await dataSource.query(
        'SELECT id, transaction_id FROM ledger_postings WHERE account_id = $1 LIMIT 1',
        [order.escrow],
      );
      return { id: row.id as string, transactionId: row.transaction_id as string };
    }

    it('refuses UPDATE of a posting', async () => {
      const order = await fundedOrder(50);
      const { id } = await onePosting(order);
      const error = await rawSql(`UPDATE ledger_postings SET amount = amount * 2 WHERE id = ${id}`);
      expect(error?.message).toMatch(/append-only/);
      expect(await balanceOf(order.escrow)).toMatchObject({ postedFen: 50 });
    });

    it('refuses DELETE and TRUNCATE of postings and transactions', async () => {
      const order = await fundedOrder(50);
      const { id } = await onePosting(order);
      expect((await rawSql(`DELETE FROM ledger_postings WHERE id = ${id}`))?.message).toMatch(
        /append-only/,
      );
      expect((await rawSql('TRUNCATE ledger_postings CASCADE'))?.message).toMatch(/append-only/);
      expect(
        (
          await rawSql(
            `DELETE FROM ledger_transactions WHERE reference = 'payment:${order.orderId}'`,
          )
        )?.message,
      ).toMatch(/append-only/);
      expect(
        (
          await rawSql(
            `UPDATE ledger_transactions SET reference = 'x' WHERE reference = 'payment:${order.orderId}'`,
          )
        )?.message,
      ).toMatch(/append-only/);
    });

    it('refuses an account total changed by hand', async () => {
      const order = await fundedOrder(50);
      const error = await rawSql(
        `UPDATE ledger_accounts SET posted_credits = posted_credits + 1000 WHERE id = '${order.escrow}'`,
      );
      expect(error?.code).toBe('EL001');
    });

    it('refuses an unbalanced transaction written in plain SQL', async () => {
      const order = await fundedOrder(0);
      const txId = randomUUID();
      const error = await rawSql(
        insertTransaction(txId, order.institutionId),
        insertPostings(txId, [order.custody_cash, 100], [order.escrow, -99]),
      );
      expect(error?.code).toBe('23514');
      expect(error?.message).toMatch(/does not balance/);
      const [{ count }] = await dataSource.query(
        'SELECT count(*)::int AS count FROM ledger_transactions WHERE id = $1',
        [txId],
      );
      expect(count).toBe(0);
    });

    it('refuses, at commit, a transaction given no postings', async () => {
      const order = await fundedOrder(0);
      const empty = randomUUID();
      expect((await rawSql(insertTransaction(empty, order.institutionId)))?.message).toMatch(
        /at least two postings/,
      );
      // Nor does a postings statement that inserts none of them count as giving it postings.
      const none = randomUUID();
      const error = await rawSql(
        insertTransaction(none, order.institutionId),
        `INSERT INTO ledger_postings (transaction_id, account_id, phase, amount)
         SELECT '${none}', '${order.escrow}', 'posted', 5 WHERE false`,
      );
      expect(error?.message).toMatch(/at least two postings/);
    });

    it('refuses postings that leave their transaction unbalanced at the end of their statement, before any commit', async () => {
      const order = await fundedOrder(0);
      const txId = randomUUID();
      const runner = dataSource.createQueryRunner();
      await runner.connect();
      try {
        await runner.query('BEGIN');
        await runner.query(insertTransaction(txId, order.institutionId));
        // The other half in a later statement would balance it: too late.
        await expect(runner.query(insertPostings(txId, [order.custody_cash, 100]))).rejects.toThrow(
          /does not balance \(total 100, posted 100\)/,
        );
      } finally {
        await runner.query('ROLLBACK');
        await runner.release();
      }
    });

    it('checks every transaction a statement gives postings, and names the one that breaks a rule', async () => {
      const order = await fundedOrder(0);
      const [good, bad] = [randomUUID(), randomUUID()];
      const error = await rawSql(
        insertTransaction(good, order.institutionId),
        insertTransaction(bad, order.institutionId),
        `INSERT INTO ledger_postings (transaction_id, account_id, phase, amount) VALUES
         ('${good}', '${order.custody_cash}', 'posted', 100), ('${good}', '${order.escrow}', 'posted', -100),
         ('${bad}', '${order.custody_cash}', 'posted', 100), ('${bad}', '${order.escrow}', 'posted', -90)`,
      );
      expect(error?.code).toBe('23514');
      expect(error?.message).toBe(
        `ledger transaction raw:${bad} does not balance (total 10, posted 10)`,
      );
    });

    it('checks the last posting added after the checks ran early (SET CONSTRAINTS IMMEDIATE)', async () => {
      const order = await fundedOrder(0);
      const txId = randomUUID();
      const error = await rawSql(
        insertTransaction(txId, order.institutionId),
        insertPostings(txId, [order.custody_cash, 100], [order.escrow, -100]),
        'SET CONSTRAINTS ALL IMMEDIATE',
        insertPostings(txId, [order.custody_cash, 5]),
      );
      expect(error?.code).toBe('23514');
      expect(error?.message).toMatch(/does not balance/);
    });

    it('checks a posting added to a committed transaction, alone or with a balanced pair', async () => {
      const order = await fundedOrder(50);
      const { transactionId: txId } = await onePosting(order);
      const alone = await rawSql(insertPostings(txId, [order.custody_cash, 7]));
      expect(alone?.message).toMatch(/does not balance/);
      // A balanced pair added later is checked too: this one reaches another institution.
      const other = await fundedOrder(0);
      const foreign = await rawSql(
        insertPostings(txId, [order.custody_cash, 7], [other.escrow, -7]),
      );
      expect(foreign?.message).toMatch(/spans institutions/);
    });

    it('checks a posting even when an earlier one was given a larger id by hand', async () => {
      const order = await fundedOrder(0);
      const txId = randomUUID();
      const error = await rawSql(
        insertTransaction(txId, order.institutionId),
        `INSERT INTO ledger_postings (id, transaction_id, account_id, phase, amount)
         OVERRIDING SYSTEM VALUE VALUES
         (9000000000000000000, '${txId}', '${order.custody_cash}', 'posted', 100),
         (9000000000000000001, '${txId}', '${order.escrow}', 'posted', -100)`,
        insertPostings(txId, [order.custody_cash, 5000]),
      );
      expect(error?.message).toMatch(/does not balance/);
    });

    it('still checks every event inside a savepoint', async () => {
      const order = await fundedOrder(0);
      const txId = randomUUID();
      const error = await rawSql(
        'SAVEPOINT inner_work',
        insertTransaction(txId, order.institutionId),
        insertPostings(txId, [order.custody_cash, 100], [order.escrow, -98]),
        'RELEASE SAVEPOINT inner_work',
      );
      expect(error?.message).toMatch(/does not balance/);
    });

    it('refuses a posting that spans two institutions', async () => {
      const a = await fundedOrder(0);
      const b = await fundedOrder(0);
      const txId = randomUUID();
      const error = await rawSql(
        insertTransaction(txId, a.institutionId),
        insertPostings(txId, [a.custody_cash, 100], [b.escrow, -100]),
      );
      expect(error?.message).toMatch(/spans institutions/);
    });

    it('refuses a partial void written in plain SQL', async () => {
      const order = await fundedOrder(100);
      const holdId = await dataSource.transaction((manager) =>
        ledger.hold(manager, {
          kind: 'lesson_hold',
          reference: `hold:${order.orderId}`,
          institutionId: order.institutionId,
          transfers: [
            {
              debitAccountId: order.escrow,
              creditAccountId: order.settlement_payable,
              amountFen: 60,
            },
          ],
        }),
      );
      const txId = randomUUID();
      const error = await rawSql(
        `INSERT INTO ledger_transactions (id, kind, reference, institution_id, pending_id, resolution)
         VALUES ('${txId}', 'lesson_void', 'raw:${txId}', '${order.institutionId}', '${holdId}', 'void')`,
        `INSERT INTO ledger_postings (transaction_id, account_id, phase, amount) VALUES
         ('${txId}', '${order.escrow}', 'resolved', -30),
         ('${txId}', '${order.settlement_payable}', 'resolved', 30)`,
      );
      expect(error?.message).toMatch(/does not exactly void/);
    });

    /** A hold of `fen` from the order's escrow to its institution's settlement account. */
    async function heldFen(order: Awaited<ReturnType<typeof fundedOrder>>, fen: number) {
      return dataSource.transaction((manager) =>
        ledger.hold(manager, {
          kind: 'lesson_hold',
          reference: `hold:${randomUUID()}`,
          institutionId: order.institutionId,
          transfers: [
            {
              debitAccountId: order.escrow,
              creditAccountId: order.settlement_payable,
              amountFen: fen,
            },
          ],
        }),
      );
    }

    /** Plain SQL posting the hold `holdId` of `heldFen` as transaction `postId`, moving `movedFen`. */
    const postHeld = (
      order: Awaited<ReturnType<typeof fundedOrder>>,
      { postId, holdId, heldFen, movedFen = heldFen }: PostHeld,
    ) => [
      `INSERT INTO ledger_transactions (id, kind, reference, institution_id, pending_id, resolution)
       VALUES ('${postId}', 'lesson_release', 'raw:${postId}', '${order.institutionId}', '${holdId}', 'post')`,
      `INSERT INTO ledger_postings (transaction_id, account_id, phase, amount) VALUES
       ('${postId}', '${order.escrow}', 'resolved', ${-heldFen}),
       ('${postId}', '${order.escrow}', 'posted', ${movedFen}),
       ('${postId}', '${order.settlement_payable}', 'resolved', ${heldFen}),
       ('${postId}', '${order.settlement_payable}', 'posted', ${-movedFen})`,
    ];

    it('refuses a post that moves other than what its hold holds, and a release naming no hold', async () => {
      const order = await fundedOrder(100);
      const holdId = await heldFen(order, 60);
      const post = randomUUID();
      const moved = await rawSql(
        ...postHeld(order, { postId: post, holdId, heldFen: 60, movedFen: 50 }),
      );
      expect(moved?.message).toBe(
        `ledger transaction raw:${post} does not exactly post its pending transfer`,
      );
      const unnamed = randomUUID();
      const error = await rawSql(
        insertTransaction(unnamed, order.institutionId),
        `INSERT INTO ledger_postings (transaction_id, account_id, phase, amount) VALUES
         ('${unnamed}', '${order.escrow}', 'resolved', -60),
         ('${unnamed}', '${order.settlement_payable}', 'resolved', 60)`,
      );
      expect(error?.message).toBe(
        `ledger transaction raw:${unnamed} releases a hold without naming it`,
      );
    });

    it('refuses postings added to a hold once released, in the same database transaction or later', async () => {
      const order = await fundedOrder(100);
      const legs = (txId: string, phase: string, escrowFen: number) =>
        `INSERT INTO ledger_postings (transaction_id, account_id, phase, amount) VALUES
         ('${txId}', '${order.escrow}', '${phase}', ${escrowFen}),
         ('${txId}', '${order.settlement_payable}', '${phase}', ${-escrowFen})`;
      const [hold, post] = [randomUUID(), randomUUID()];
      const sameTransaction = await rawSql(
        insertTransaction(hold, order.institutionId),
        legs(hold, 'pending', 60),
        ...postHeld(order, { postId: post, holdId: hold, heldFen: 60 }),
        // Balanced, and valid for the hold alone: 10 fen more held that nothing could release.
        legs(hold, 'pending', 10),
      );
      expect(sameTransaction?.message).toBe(
        `ledger transaction raw:${post} does not exactly post its pending transfer`,
      );

      const holdId = await heldFen(order, 30);
      await dataSource.transaction((manager) =>
        ledger.postPending(manager, {
          pendingId: holdId,
          kind: 'lesson_release',
          reference: `release:${holdId}`,
        }),
      );
      const later = await rawSql(legs(holdId, 'pending', 10));
      expect(later?.message).toBe(
        `ledger transaction release:${holdId} does not exactly post its pending transfer`,
      );
    });

    it.each(['the postings', 'the release'])(
      'refuses a release and postings added to its hold by two sessions at once, %s first',
      async (first) => {
        const order = await fundedOrder(100);
        const holdId = await heldFen(order, 60);
        const postId = randomUUID();
        // Valid for the hold alone, on other accounts than the release's: no account lock meets.
        const addToHold = `INSERT INTO ledger_postings (transaction_id, account_id, phase, amount)
          VALUES ('${holdId}', '${order.custody_cash}', 'pending', 40),
                 ('${holdId}', '${order.suspense}', 'pending', -40)`;
        const release = postHeld(order, { postId, holdId, heldFen: 60 });
        const sessions = [dataSource.createQueryRunner(), dataSource.createQueryRunner()];
        try {
          for (const session of sessions) {
            await session.connect();
            await session.startTransaction();
          }
          const [holder, waiter] = first === 'the postings' ? sessions : [...sessions].reverse();
          const [holderWork, waiterWork] =
            first === 'the postings' ? [[addToHold], release] : [release, [addToHold]];
          for (const sql of holderWork) await holder.query(sql);
          const [{ pid }] = await waiter.query('SELECT pg_backend_pid() AS pid');
          const waiting = (async () => {
            for (const sql of waiterWork) await waiter.query(sql);
            await waiter.commitTransaction();
          })();
          waiting.catch(() => undefined);
          await eventually(async () => {
            const [{ blocked }] = await dataSource.query(
              'SELECT cardinality(pg_blocking_pids($1)) > 0 AS blocked',
              [pid],
            );
            return blocked ? true : undefined;
          });
          await holder.commitTransaction();
          await expect(waiting).rejects.toThrow(
            `ledger transaction raw:${postId} does not exactly post its pending transfer`,
          );
        } finally {
          for (const session of sessions) {
            if (session.isTransactionActive) await session.rollbackTransaction();
            await session.release();
          }
        }
      },
    );

    it('refuses postings added to a transaction once reversed', async () => {
      const order = await fundedOrder(100);
      const { transactionId: original } = await onePosting(order);
      await dataSource.transaction((manager) =>
        ledger.reverse(manager, { transactionId: original, reference: `reversal:${original}` }),
      );
      const error = await rawSql(
        insertPostings(original, [order.custody_cash, 5], [order.escrow, -5]),
      );
      expect(error?.message).toBe(
        `ledger transaction reversal:${original} does not exactly reverse its original`,
      );
    });

    it('refuses, at commit, a transaction whose postings were rolled back to a savepoint', async () => {
      const order = await fundedOrder(0);
      const txId = randomUUID();
      const error = await rawSql(
        insertTransaction(txId, order.institutionId),
        'SAVEPOINT postings',
        insertPostings(txId, [order.custody_cash, 100], [order.escrow, -100]),
        'ROLLBACK TO SAVEPOINT postings',
      );
      expect(error?.message).toMatch(/at least two postings/);
    });

    it('refuses a reversal that is not the exact opposite of its original', async () => {
      const order = await fundedOrder(100);
      const { transactionId: original } = await onePosting(order);
      const reversal = randomUUID();
      const error = await rawSql(
        `INSERT INTO ledger_transactions (id, kind, reference, institution_id, reversal_of)
         VALUES ('${reversal}', 'reversal', 'raw:${reversal}', '${order.institutionId}', '${original}')`,
        insertPostings(reversal, [order.escrow, 40], [order.custody_cash, -40]),
      );
      expect(error?.code).toBe('23514');
      expect(error?.message).toBe(
        `ledger transaction raw:${reversal} does not exactly reverse its original`,
      );
    });

    /** The account row and its postings' stamps (version and the totals after each posting). */
    async function stampsOf(accountId: string) {
      const [account] = await dataSource.query(
        `SELECT version::int, posted_debits::int AS debits, posted_credits::int AS credits
         FROM ledger_accounts WHERE id = $1`,
        [accountId],
      );
      const postings = await dataSource.query(
        `SELECT account_version::int AS version, posted_debits_after::int AS debits,
                posted_credits_after::int AS credits
         FROM ledger_postings WHERE account_id = $1 ORDER BY id`,
        [accountId],
      );
      return { account, postings };
    }

    it('stamps each posting of one statement after the one before it, and the account with the last', async () => {
      const order = await fundedOrder(10);
      const txId = randomUUID();
      const error = await rawSql(
        insertTransaction(txId, order.institutionId),
        insertPostings(
          txId,
          [order.escrow, 3],
          [order.suspense, -3],
          [order.escrow, 4],
          [order.suspense, -4],
          [order.escrow, -2],
          [order.suspense, 2],
        ),
      );
      expect(error).toBeUndefined();
      const { account, postings } = await stampsOf(order.escrow);
      expect(postings).toEqual([
        { version: 1, debits: 0, credits: 10 },
        { version: 2, debits: 3, credits: 10 },
        { version: 3, debits: 7, credits: 10 },
        { version: 4, debits: 7, credits: 12 },
      ]);
      expect(account).toEqual({ version: 4, debits: 7, credits: 12 });
    });

    it('keeps the account at its last stamp when one query inserts postings twice', async () => {
      const order = await fundedOrder(10);
      const txId = randomUUID();
      const legs = (escrowFen: number) =>
        `('${txId}'::uuid, '${order.escrow}'::uuid, 'posted', ${escrowFen}),
         ('${txId}'::uuid, '${order.suspense}'::uuid, 'posted', ${-escrowFen})`;
      const error = await rawSql(
        insertTransaction(txId, order.institutionId),
        `WITH first AS (
           INSERT INTO ledger_postings (transaction_id, account_id, phase, amount)
           VALUES ${legs(3)} RETURNING id)
         INSERT INTO ledger_postings (transaction_id, account_id, phase, amount)
         SELECT * FROM (VALUES ${legs(4)}) v WHERE (SELECT count(*) FROM first) = 2`,
      );
      expect(error).toBeUndefined();
      const { account, postings } = await stampsOf(order.escrow);
      expect(postings.map((posting: { version: number }) => posting.version)).toEqual([1, 2, 3]);
      expect(account).toEqual(postings[2]);
      expect(account).toEqual({ version: 3, debits: 7, credits: 10 });
    });

    it('fails the statement when something keeps an account from being brought up to its postings', async () => {
      const order = await fundedOrder(10);
      const txId = randomUUID();
      // A trigger added later that silently skips the account write.
      const error = await rawSql(
        `CREATE FUNCTION pg_temp.skip_account_write() RETURNS trigger LANGUAGE plpgsql
           AS $$ BEGIN RETURN NULL; END $$`,
        `CREATE TRIGGER trg_test_skip_account_write BEFORE UPDATE ON ledger_accounts
           FOR EACH ROW EXECUTE FUNCTION pg_temp.skip_account_write()`,
        insertTransaction(txId, order.institutionId),
        insertPostings(txId, [order.escrow, 3], [order.suspense, -3]),
        // Reached only when the statement wrongly succeeds: leaves other tests unaffected.
        'DROP TRIGGER trg_test_skip_account_write ON ledger_accounts',
      );
      expect(error?.code).toBe('EL003');
      expect(error?.message).toMatch(/was not brought up to its postings/);
    });

    it.each([
      ['in plain SQL', 'suspense'],
      // Ends where it began, but the escrow's stamp after its first posting would be -1 fen.
      ['and back within one statement', 'escrow'],
    ] as const)('refuses a liability driven below zero %s', async (_case, counterpart) => {
      const order = await fundedOrder(10);
      const txId = randomUUID();
      const error = await rawSql(
        insertTransaction(txId, order.institutionId),
        insertPostings(txId, [order.escrow, 11], [order[counterpart], -11]),
      );
      expect(error?.code).toBe('23514');
      expect(error?.message).toMatch(/ck_ledger_accounts_non_negative/);
      expect((await stampsOf(order.escrow)).account).toEqual({
        version: 1,
        debits: 0,
        credits: 10,
      });
    });
  });

  it('keeps one account per code and owner when opened concurrently', async () => {
    const institutionId = randomUUID();
    const ids = await Promise.all(
      Array.from({ length: 8 }, () =>
        dataSource.transaction((manager) =>
          ledger.openAccount(manager, { code: 'suspense', institutionId }),
        ),
      ),
    );
    expect(new Set(ids).size).toBe(1);
  });
});
