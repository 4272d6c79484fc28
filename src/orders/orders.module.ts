import { Module } from '@nestjs/common';
import { ExceptionsModule } from '../exceptions/exceptions.module';
import { InstitutionsModule } from '../institutions/institutions.module';
import { LedgerModule } from '../ledger/ledger.module';
import { OrdersController } from './orders.controller';
import { OrdersService } from './orders.service';
import { PlaceOrder } from './place-order.usecase';
import { ReceivePayment } from './receive-payment.usecase';

@Module({
  imports: [LedgerModule, InstitutionsModule, ExceptionsModule],
  controllers: [OrdersController],
  providers: [OrdersService, PlaceOrder, ReceivePayment],
  exports: [ReceivePayment],
})
export class OrdersModule {}
