/**
 * The application as most e2e tests run it: with its data source and role tokens at hand, and
 * closed only after checking that the books balance. The tests of money leaving custody (refunds,
 * settlements) run it with a test double for the bank, whose every answer the test controls.
 */
import { DataSource } from 'typeorm';
import { BANK_GATEWAY, BankGateway } from '../../src/bank/bank-gateway';
import { TestApp, createTestApp } from './app';
import { tokens } from './factories';
import { expectBooksBalanced } from './ledger-checks';

export interface LedgerTestApp extends TestApp {
  dataSource: DataSource;
  /** Bearer tokens for each role. */
  as: ReturnType<typeof tokens>;
}

/** createTestApp, with the data source and role tokens. */
export async function createLedgerTestApp(
  ...args: Parameters<typeof createTestApp>
): Promise<LedgerTestApp> {
  const t = await createTestApp(...args);
  return { ...t, dataSource: t.app.get(DataSource), as: tokens(t.config) };
}

/** Boots the application with `bank` in place of the bank gateway and queue retries 20 ms apart. */
export function createBankDoubleTestApp(
  bank: BankGateway,
  overrides: Record<string, string> = {},
): Promise<LedgerTestApp> {
  return createLedgerTestApp(
    { QUEUE_BACKOFF_MS: '20', ...overrides },
    [],
    [{ provide: BANK_GATEWAY, useValue: bank }],
  );
}

/** Checks that the books balance, then closes the application. */
export async function closeWithBooksBalanced(t: LedgerTestApp): Promise<void> {
  await expectBooksBalanced(t.dataSource);
  await t.close();
}
