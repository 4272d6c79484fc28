/** The custody account a statement is about, and the lock that serialises its reconciliation. */
import { EntityManager } from 'typeorm';

export interface CustodyAccount {
  accountNo: string;
  institutionId: string;
  districtId: string;
  /** The institution's custody_cash ledger account. */
  custodyCashAccountId: string;
}

interface Row {
  institution_id: string;
  district_id: string;
  custody_cash_account_id: string | null;
}

/** The custody account registered under `accountNo`, or undefined when there is none. */
export async function findCustodyAccount(
  manager: EntityManager,
  accountNo: string,
): Promise<CustodyAccount | undefined> {
  const [row]: Row[] = await manager.query(
    `SELECT b.institution_id, i.district_id, a.id AS custody_cash_account_id
     FROM institution_bank_accounts b
     JOIN institutions i ON i.id = b.institution_id
     LEFT JOIN ledger_accounts a
       ON a.institution_id = b.institution_id AND a.code = 'custody_cash' AND a.order_id IS NULL
     WHERE b.account_no = $1 AND b.kind = 'custody'`,
    [accountNo],
  );
  if (!row) return undefined;
  if (!row.custody_cash_account_id) {
    // Registration opens it in the same transaction: a gap means the books are not as built.
    throw new Error(`institution ${row.institution_id} has no custody_cash ledger account`);
  }
  return {
    accountNo,
    institutionId: row.institution_id,
    districtId: row.district_id,
    custodyCashAccountId: row.custody_cash_account_id,
  };
}

/**
 * Imports, matching and manual bookings of one account take this transaction-scoped lock, so they
 * never interleave; different accounts proceed in parallel.
 */
export async function lockAccount(manager: EntityManager, accountNo: string): Promise<void> {
  await manager.query(
    `SELECT pg_advisory_xact_lock(hashtextextended('reconciliation:' || $1, 0))`,
    [accountNo],
  );
}
