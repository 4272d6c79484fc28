import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsBoolean, IsOptional } from 'class-validator';
import {
  INSTITUTION_STATUSES,
  InstitutionStatus,
} from '../../institutions/entities/institution.entity';
import { ACCOUNT_CODES, AccountCode, AccountType } from '../../ledger/chart-of-accounts';
import { IsInstant } from './instant';

/** `true` / `false` in a query string; anything else is left for @IsBoolean to refuse. */
const queryBoolean = ({ value }: { value: unknown }) =>
  value === 'true' ? true : value === 'false' ? false : value;

export class BalancesQueryDto {
  @IsInstant({ description: 'the instant; default now. Must not be in the future.' })
  at?: string;

  @IsOptional()
  @Transform(queryBoolean)
  @IsBoolean({ message: 'orders must be true or false' })
  @ApiPropertyOptional({
    type: 'boolean',
    default: false,
    description: 'also list each order_escrow account (one line per order)',
  })
  orders?: boolean;
}

export class BalanceFiguresDto {
  @ApiProperty({ type: 'integer', example: 500_000 }) postedDebitsFen!: number;
  @ApiProperty({ type: 'integer', example: 120_000 }) postedCreditsFen!: number;
  @ApiProperty({ type: 'integer', example: 0 }) pendingDebitsFen!: number;
  @ApiProperty({ type: 'integer', example: 4_000 }) pendingCreditsFen!: number;

  @ApiProperty({
    type: 'integer',
    example: 380_000,
    description: 'posted balance on the normal side: debit for custody_cash, credit otherwise',
  })
  postedFen!: number;

  @ApiProperty({ type: 'integer', example: 380_000, description: 'posted less pending outflows' })
  availableFen!: number;
}

export class AccountBalanceLineDto extends BalanceFiguresDto {
  @ApiProperty({ enum: ACCOUNT_CODES, example: 'custody_cash' }) code!: AccountCode;
  @ApiProperty({ enum: ['asset', 'liability'], example: 'asset' }) type!: AccountType;

  @ApiProperty({
    format: 'uuid',
    nullable: true,
    description: 'the account; null for order_escrow, which sums one account per order',
  })
  accountId!: string | null;

  @ApiProperty({ type: 'integer', example: 1, description: 'accounts summed in this line' })
  accountCount!: number;

  @ApiProperty({ format: 'date-time', nullable: true, example: '2026-03-01T07:59:58.123456Z' })
  lastPostingAt!: string | null;
}

export class OrderEscrowBalanceDto extends BalanceFiguresDto {
  @ApiProperty({ format: 'uuid' }) orderId!: string;
  @ApiProperty({ format: 'uuid' }) accountId!: string;
  @ApiProperty({ type: 'integer', example: 7, description: 'postings on the account by then' })
  accountVersion!: number;
  @ApiProperty({ format: 'date-time', nullable: true }) lastPostingAt!: string | null;
}

export class InstitutionBalancesDto {
  @ApiProperty({ format: 'uuid' }) institutionId!: string;
  @ApiProperty({ example: '龙泉驿启明培训学校' }) name!: string;
  @ApiProperty({ enum: INSTITUTION_STATUSES, example: 'active' }) status!: InstitutionStatus;

  @ApiProperty({
    format: 'date-time',
    example: '2026-03-01T00:00:00.000000Z',
    description: 'the instant, in UTC with microseconds',
  })
  at!: string;

  @ApiProperty({ type: [AccountBalanceLineDto], description: 'one line per account code' })
  accounts!: AccountBalanceLineDto[];

  @ApiPropertyOptional({ type: [OrderEscrowBalanceDto], description: 'with orders=true' })
  orderEscrows?: OrderEscrowBalanceDto[];
}
