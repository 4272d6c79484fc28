import { MiddlewareConsumer, Module, NestModule, RequestMethod } from '@nestjs/common';
import { BankModule } from '../bank/bank.module';
import { ExceptionsModule } from '../exceptions/exceptions.module';
import { LedgerModule } from '../ledger/ledger.module';
import { BookToSuspense } from './book-to-suspense.usecase';
import { FetchStatements } from './fetch-statements.usecase';
import { ImportStatement } from './import-statement.usecase';
import { MatchAccount } from './match-account.usecase';
import { ReconciliationReports } from './reconciliation-reports.service';
import { DEFAULT_RECONCILIATION_OPTIONS, RECONCILIATION_OPTIONS } from './reconciliation.constants';
import { ReconciliationController } from './reconciliation.controller';
import { ReconciliationProcessor } from './reconciliation.processor';
import { RematchStatement } from './rematch-statement.usecase';
import { StatementBodyMiddleware, StatementUploadGuard } from './statement-upload';

/** Bank reconciliation: statement import, matching, daily close and reports (DESIGN.md §5.6). */
@Module({
  imports: [BankModule, LedgerModule, ExceptionsModule],
  controllers: [ReconciliationController],
  providers: [
    { provide: RECONCILIATION_OPTIONS, useValue: DEFAULT_RECONCILIATION_OPTIONS },
    StatementBodyMiddleware,
    StatementUploadGuard,
    ImportStatement,
    MatchAccount,
    BookToSuspense,
    FetchStatements,
    RematchStatement,
    ReconciliationReports,
    ReconciliationProcessor,
  ],
  exports: [ImportStatement, MatchAccount, FetchStatements],
})
export class ReconciliationModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer
      .apply(StatementBodyMiddleware)
      .forRoutes({ path: 'v1/reconciliation/statements', method: RequestMethod.POST });
  }
}
