import { Module } from '@nestjs/common';
import { BankModule } from '../bank/bank.module';
import { CalendarModule } from '../calendar/calendar.module';
import { InstitutionsModule } from '../institutions/institutions.module';
import { LedgerModule } from '../ledger/ledger.module';
import { ApproveSilentRefunds } from './approve-silent-refunds.usecase';
import { DecideRefund } from './decide-refund.usecase';
import { InstitutionClosure } from './institution-closure';
import { RefundWorkflow } from './refund-workflow';
import { RefundsController } from './refunds.controller';
import { RefundsProcessor } from './refunds.processor';
import { RefundsService } from './refunds.service';
import { RequestRefund } from './request-refund.usecase';

@Module({
  imports: [BankModule, CalendarModule, InstitutionsModule, LedgerModule],
  controllers: [RefundsController],
  providers: [
    RefundWorkflow,
    RefundsService,
    RequestRefund,
    DecideRefund,
    ApproveSilentRefunds,
    InstitutionClosure,
    RefundsProcessor,
  ],
  exports: [RefundWorkflow],
})
export class RefundsModule {}
