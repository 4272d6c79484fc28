/**
 * A signed notification from the custody bank. Each event id is processed once: a replay with the
 * same body gets the first answer and changes nothing; the same id with another body is refused.
 */
import { Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { CommonErrorCode, DomainException } from '../common/errors/domain.exception';
import { IdempotencyService } from '../common/idempotency/idempotency.service';
import { BankInstructionsService } from './bank-instructions.service';
import { ReceivePayment } from '../orders/receive-payment.usecase';
import { BankErrorCode, bankError } from './bank.errors';
import { BankNotificationDto, BankNotificationReceiptDto } from './bank-notification.dto';
import { BankEvent } from './entities/bank-event.entity';

export interface ReceiveBankNotificationCommand {
  notification: BankNotificationDto;
  rawBody: Buffer;
}

@Injectable()
export class ReceiveBankNotification {
  constructor(
    private readonly idempotency: IdempotencyService,
    private readonly receivePayment: ReceivePayment,
    private readonly instructions: BankInstructionsService,
  ) {}

  async execute(command: ReceiveBankNotificationCommand): Promise<BankNotificationReceiptDto> {
    const { notification } = command;
    const bodySha256 = createHash('sha256').update(command.rawBody).digest('hex');
    try {
      return await this.idempotency.execute(
        { scope: 'bank', key: notification.eventId, fingerprint: bodySha256, statusCode: 200 },
        async (manager) => {
          await manager.insert(BankEvent, {
            eventId: notification.eventId,
            type: notification.type,
            bodySha256,
          });
          const receipt = { eventId: notification.eventId, type: notification.type };
          switch (notification.type) {
            case 'payment_received': {
              const payment = await this.receivePayment.execute(manager, {
                eventId: notification.eventId,
                bankTxnId: notification.bankTxnId,
                accountNo: notification.accountNo,
                amountFen: notification.amountFen,
                reference: notification.reference,
                occurredAt: new Date(notification.occurredAt),
                // Validated as required for payments by the DTO.
                payerAccount: notification.payerAccount!,
              });
              return { ...receipt, ...payment };
            }
            case 'transfer_succeeded':
            case 'transfer_failed': {
              const outcome = await this.instructions.completeFromNotification(manager, {
                eventId: notification.eventId,
                type: notification.type,
                reference: notification.reference,
                accountNo: notification.accountNo,
                amountFen: notification.amountFen,
                bankTxnId: notification.bankTxnId,
                reason: notification.reason,
              });
              return { ...receipt, outcome };
            }
          }
        },
      );
    } catch (error) {
      if (
        error instanceof DomainException &&
        error.code === String(CommonErrorCode.IDEMPOTENCY_KEY_REUSED)
      ) {
        throw bankError(
          BankErrorCode.BANK_EVENT_ID_REUSED,
          `event ${notification.eventId} was already received with a different body`,
        );
      }
      throw error;
    }
  }
}
