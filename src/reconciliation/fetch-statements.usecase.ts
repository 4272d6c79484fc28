/**
 * The daily fetch (R-REC-01, T+1): yesterday's statement of every custody account, asked of the
 * bank through the BankGateway and imported like any other. An account whose statement the bank
 * could not deliver (unreachable, 5xx) fails the job, which is retried with backoff (what was
 * imported is found again as duplicates); a statement the bank refuses (4xx) or the checks refuse
 * is logged for operators (its day stays "missing" in the daily close) and holds up no other.
 */
import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import {
  BANK_GATEWAY,
  BankGateway,
  BankRejectedError,
  BankUnavailableError,
} from '../bank/bank-gateway';
import { DomainException } from '../common/errors/domain.exception';
import { chinaDate } from '../common/time/china-date';
import { ImportStatement } from './import-statement.usecase';
import { RECONCILIATION_OPTIONS, ReconciliationOptions } from './reconciliation.constants';

export interface FetchStatementsCommand {
  /** China date; default yesterday. */
  day?: string;
  /** Only these accounts (default: every custody account). */
  accountNos?: string[];
}

export interface FetchReport {
  day: string;
  imported: { accountNo: string; statementId: string; duplicate: boolean }[];
  refused: { accountNo: string; code: string; detail: string }[];
  unavailable: { accountNo: string; reason: string }[];
}

@Injectable()
export class FetchStatements {
  private readonly logger = new Logger(FetchStatements.name);

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(BANK_GATEWAY) private readonly gateway: BankGateway,
    private readonly importStatement: ImportStatement,
    @Inject(RECONCILIATION_OPTIONS) private readonly options: ReconciliationOptions,
  ) {}

  async execute(command: FetchStatementsCommand = {}): Promise<FetchReport> {
    const day = command.day ?? chinaDate(new Date(Date.now() - 86_400_000));
    const accounts: { account_no: string }[] = await this.dataSource.query(
      `SELECT account_no FROM institution_bank_accounts
       WHERE kind = 'custody' AND ($1::text[] IS NULL OR account_no = ANY($1))
       ORDER BY account_no`,
      [command.accountNos ?? null],
    );
    const report: FetchReport = { day, imported: [], refused: [], unavailable: [] };
    const format = this.options.fetchFormat;
    for (const { account_no: accountNo } of accounts) {
      try {
        const body = await this.gateway.fetchStatement(accountNo, day, day, format);
        const receipt = await this.importStatement.execute({
          body,
          mediaType: format === 'csv' ? 'text/csv' : 'application/xml',
          accountNo,
          ...(format === 'csv' ? { fromDate: day, toDate: day } : {}),
          source: 'job',
        });
        report.imported.push({
          accountNo,
          statementId: receipt.statementId,
          duplicate: receipt.duplicate,
        });
      } catch (error) {
        if (error instanceof DomainException || error instanceof BankRejectedError) {
          const refusal =
            error instanceof DomainException
              ? { code: error.code, detail: error.detail }
              : { code: 'BANK_REJECTED', detail: error.message };
          report.refused.push({ accountNo, ...refusal });
          this.logger.error(
            { account: `****${accountNo.slice(-4)}`, day, ...refusal },
            'statement refused',
          );
        } else {
          const reason = error instanceof Error ? error.message : String(error);
          report.unavailable.push({ accountNo, reason });
          this.logger.warn({ account: `****${accountNo.slice(-4)}`, day, reason }, 'no statement');
        }
      }
    }
    if (report.unavailable.length) {
      // The job is retried with backoff; what was imported is found again as duplicates.
      throw new BankUnavailableError(
        `${report.unavailable.length} of ${accounts.length} statements for ${day} could not be fetched`,
      );
    }
    return report;
  }
}
