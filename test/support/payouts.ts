/**
 * The application as the tests of money leaving custody (refunds, settlements) run it: with a
 * test double for the bank, whose every answer the test controls.
 */
import { DataSource } from 'typeorm';
import { BANK_GATEWAY, BankGateway } from '../../src/bank/bank-gateway';
import { TestApp, createTestApp } from './app';
import { tokens } from './factories';
import { expectBooksBalanced } from './ledger-checks';

export interface BankDoubleTestApp extends TestApp {
  dataSource: DataSource;
  /** Bearer tokens for each role. */
  as: ReturnType<typeof tokens>;
}

/** Boots the application with `bank` in place of the bank gateway and queue retries 20 ms apart. */
export async function createBankDoubleTestApp(
  bank: BankGateway,
  overrides: Record<string, string> = {},
): Promise<BankDoubleTestApp> {
  const t = await createTestApp(
    { QUEUE_BACKOFF_MS: '20', ...overrides },
    [],
    [{ provide: BANK_GATEWAY, useValue: bank }],
  );
  return { ...t, dataSource: t.app.get(DataSource), as: tokens(t.config) };
}

/** Checks that the books balance, then closes the application. */
export async function closeWithBooksBalanced(t: BankDoubleTestApp): Promise<void> {
  await expectBooksBalanced(t.dataSource);
  await t.close();
}
