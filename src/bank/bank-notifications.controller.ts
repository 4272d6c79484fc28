import { Body, Controller, HttpCode, HttpStatus, Post, Req } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { BankAuth } from './bank-signature';
import { BankNotificationDto, BankNotificationReceiptDto } from './bank-notification.dto';
import { ReceiveBankNotification } from './receive-bank-notification.usecase';

@ApiTags('bank')
@Controller('v1/bank/notifications')
export class BankNotificationsController {
  constructor(private readonly receiveNotification: ReceiveBankNotification) {}

  @Post()
  @BankAuth()
  @HttpCode(HttpStatus.OK)
  @ApiOperation({
    operationId: 'receiveBankNotification',
    summary: 'Payment received into custody, or the result of a transfer we instructed',
  })
  @ApiOkResponse({ type: BankNotificationReceiptDto })
  receiveBankNotification(
    @Body() notification: BankNotificationDto,
    @Req() request: FastifyRequest & { rawBody?: Buffer },
  ) {
    return this.receiveNotification.execute({
      notification,
      rawBody: request.rawBody ?? Buffer.alloc(0),
    });
  }
}
