import { Module } from '@nestjs/common';
import { ExceptionsModule } from '../exceptions/exceptions.module';
import { OrdersModule } from '../orders/orders.module';
import { BankNotificationsController } from './bank-notifications.controller';
import { BankSignatureGuard } from './bank-signature';
import { ReceiveBankNotification } from './receive-bank-notification.usecase';

@Module({
  imports: [OrdersModule, ExceptionsModule],
  controllers: [BankNotificationsController],
  providers: [BankSignatureGuard, ReceiveBankNotification],
})
export class BankModule {}
