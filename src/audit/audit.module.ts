import { MiddlewareConsumer, Module, NestModule } from '@nestjs/common';
import { APP_CONFIG } from '../config/config';
import { AuditRequestsController } from './audit-requests.controller';
import { AuditSummaryService } from './audit-summary.service';
import { AuditController } from './audit.controller';
import { BalancesService } from './balances.service';
import { JournalService } from './journal.service';
import { OrderHistoryService } from './order-history.service';
import { IntegrityService } from './sealing/integrity.service';
import { SealLedger } from './sealing/seal-ledger';
import { SealLedgerProcessor, SealLedgerSchedule } from './sealing/seal-ledger.processor';
import { SEALING_CONFIG, sealingConfigFrom } from './sealing/sealing.config';
import { AuditTrailMiddleware } from './trail/audit-trail.middleware';
import { AuditTrail } from './trail/audit-trail.service';

/**
 * The bureau's audit: read-only queries and exports over the books, the trail of who asked, and
 * the background sealing of the ledger into a hash chain.
 */
@Module({
  controllers: [AuditController, AuditRequestsController],
  providers: [
    { provide: SEALING_CONFIG, inject: [APP_CONFIG], useFactory: sealingConfigFrom },
    AuditSummaryService,
    BalancesService,
    JournalService,
    OrderHistoryService,
    IntegrityService,
    SealLedger,
    SealLedgerProcessor,
    SealLedgerSchedule,
    AuditTrail,
  ],
  exports: [SealLedger],
})
export class AuditModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(AuditTrailMiddleware).forRoutes(AuditController, AuditRequestsController);
  }
}
