import { Module } from '@nestjs/common';
import { BankModule } from '../bank/bank.module';
import { RunSettlements } from './run-settlements.usecase';
import { SettlementsController } from './settlements.controller';
import { SettlementsProcessor } from './settlements.processor';
import { SettlementsService } from './settlements.service';

@Module({
  imports: [BankModule],
  controllers: [SettlementsController],
  providers: [RunSettlements, SettlementsService, SettlementsProcessor],
})
export class SettlementsModule {}
