import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  IsIn,
  IsISO8601,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  MaxLength,
  ValidateIf,
  ValidateNested,
} from 'class-validator';
import { IsFen } from '../common/validation/decorators';

export const BANK_EVENT_TYPES = [
  'payment_received',
  'transfer_succeeded',
  'transfer_failed',
] as const;
export type BankEventType = (typeof BANK_EVENT_TYPES)[number];

export class BankAccountRefDto {
  @IsString()
  @Matches(/^[A-Z0-9]{2,16}$/)
  @ApiProperty({ example: 'CMB' })
  bankCode!: string;

  @IsString()
  @Matches(/^[0-9]{6,34}$/)
  @ApiProperty({ example: '6214830212345678' })
  accountNo!: string;

  @IsString()
  @MaxLength(200)
  @Matches(/\S/)
  @ApiProperty({ example: '王芳' })
  accountName!: string;
}

export class BankNotificationDto {
  @IsString()
  @Matches(/^[\x21-\x7e]{1,128}$/)
  @ApiProperty({ example: 'evt_20261122_000123' })
  eventId!: string;

  @IsIn(BANK_EVENT_TYPES)
  @ApiProperty({ enum: BANK_EVENT_TYPES })
  type!: BankEventType;

  @IsString()
  @Matches(/^[0-9]{6,34}$/)
  @ApiProperty({ example: '6222020200012345678', description: 'our custody account' })
  accountNo!: string;

  @IsFen()
  amountFen!: number;

  @IsString()
  @Matches(/^[\x21-\x7e]{1,128}$/)
  @ApiProperty({
    example: 'ELMZXW6YTBOI3DPNRSGK4ZAB',
    description: 'payment reference or our instruction id',
  })
  reference!: string;

  @IsString()
  @Matches(/^[\x21-\x7e]{1,128}$/)
  @ApiProperty({ example: 'ICBC2026112200001234' })
  bankTxnId!: string;

  @IsISO8601({ strict: true })
  @Matches(/(Z|[+-]\d{2}:\d{2})$/, { message: 'occurredAt must carry a time zone offset' })
  @ApiProperty({ example: '2026-11-22T10:15:00+08:00' })
  occurredAt!: string;

  @ValidateIf(
    (notification: BankNotificationDto) =>
      notification.type === 'payment_received' || notification.payerAccount !== undefined,
  )
  @IsObject({ message: 'payerAccount is required for payments' })
  @ValidateNested()
  @Type(() => BankAccountRefDto)
  @ApiPropertyOptional({
    type: BankAccountRefDto,
    description: 'required for payments: refunds go back to it',
  })
  payerAccount?: BankAccountRefDto;

  @IsOptional()
  @IsString()
  @MaxLength(500)
  @ApiPropertyOptional({ example: 'account closed' })
  reason?: string;
}

export class BankNotificationReceiptDto {
  @ApiProperty() eventId!: string;
  @ApiProperty({ enum: BANK_EVENT_TYPES }) type!: BankEventType;
  @ApiProperty({
    example: 'matched',
    description:
      'payments: matched, unknown_reference, amount_mismatch, wrong_account, order_not_payable, unknown_account, duplicate; transfers: completed, unknown_instruction, mismatch',
  })
  outcome!: string;
  @ApiPropertyOptional({ format: 'uuid' }) paymentId?: string;
  @ApiPropertyOptional({ format: 'uuid', nullable: true }) orderId?: string | null;
}
