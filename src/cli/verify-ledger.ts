/**
 * Verifies the ledger's seal chain offline, reading only the database:
 * `npm run verify-ledger -- --database-url postgres://… [--from-height N] [--to-height N]`
 * (default: the configured DATABASE_URL). Prints one JSON report; exits 0 when the chain holds,
 * 2 when it does not, 1 when it could not be checked.
 */
import { parseArgs } from 'node:util';
import { DataSource } from 'typeorm';
import { ChainVerification, verifyAtOneInstant } from '../audit/sealing/chain';
import { loadConfig } from '../config/config';
import { dataSourceOptions } from '../database/data-source';

export const EXIT_OK = 0;
export const EXIT_ERROR = 1;
export const EXIT_TAMPERED = 2;

function height(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^[1-9]\d{0,15}$/.test(value)) throw new Error(`${flag} must be a block height (1, 2, …)`);
  return Number(value);
}

export async function verifyLedger(argv: string[]): Promise<ChainVerification> {
  const { values } = parseArgs({
    args: argv,
    options: {
      'database-url': { type: 'string' },
      'from-height': { type: 'string' },
      'to-height': { type: 'string' },
    },
  });
  const databaseUrl =
    values['database-url'] ??
    loadConfig({ ...process.env, LOG_LEVEL: 'silent' }).config.databaseUrl;
  const dataSource = new DataSource({
    ...dataSourceOptions({ databaseUrl }),
    entities: [],
    migrations: [],
    extra: { max: 1, application_name: 'escrow-ledger verify-ledger' },
  });
  await dataSource.initialize();
  try {
    return await verifyAtOneInstant(dataSource, {
      fromHeight: height(values['from-height'], '--from-height'),
      toHeight: height(values['to-height'], '--to-height'),
    });
  } finally {
    await dataSource.destroy();
  }
}

if (require.main === module) {
  verifyLedger(process.argv.slice(2))
    .then((report) => {
      process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      const what = report.ok
        ? `ok: ${report.blocks} blocks, ${report.transactions} transactions verified`
        : `TAMPERED: first bad block ${report.firstBadBlock?.height ?? '-'} ` +
          `(${report.firstBadBlock?.reason ?? `${report.orphanPostings} orphan postings`})`;
      process.stderr.write(`verify-ledger: ${what}\n`);
      process.exit(report.ok ? EXIT_OK : EXIT_TAMPERED);
    })
    .catch((error: unknown) => {
      process.stderr.write(`verify-ledger: ${(error as Error).message}\n`);
      process.exit(EXIT_ERROR);
    });
}
