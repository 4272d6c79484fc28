import { Module } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../config/config';
import { ExceptionsModule } from '../exceptions/exceptions.module';
import { LedgerModule } from '../ledger/ledger.module';
import { OrdersModule } from '../orders/orders.module';
import { BANK_GATEWAY } from './bank-gateway';
import { BankInstructionProcessor } from './bank-instruction.processor';
import { BankInstructionsController } from './bank-instructions.controller';
import { BankInstructionsService } from './bank-instructions.service';
import { BankNotificationsController } from './bank-notifications.controller';
import { BankSignatureGuard } from './bank-signature';
import { HttpBankGateway } from './http-bank.gateway';
import { ReceiveBankNotification } from './receive-bank-notification.usecase';

@Module({
  imports: [OrdersModule, ExceptionsModule, LedgerModule],
  controllers: [BankNotificationsController, BankInstructionsController],
  providers: [
    BankSignatureGuard,
    ReceiveBankNotification,
    BankInstructionsService,
    BankInstructionProcessor,
    {
      provide: BANK_GATEWAY,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => new HttpBankGateway(config.bank),
    },
  ],
  exports: [BankInstructionsService, BANK_GATEWAY],
})
export class BankModule {}
