import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsUUID } from 'class-validator';
import { PageQueryDto } from '../../common/pagination/cursor';
import {
  ACCOUNT_CODES,
  AccountCode,
  TRANSACTION_KINDS,
  TransactionKind,
} from '../../ledger/chart-of-accounts';
import type { PostingPhase } from '../../ledger/entities/ledger-posting.entity';
import { IsInstant } from './instant';

export class JournalQueryDto extends PageQueryDto {
  @IsOptional()
  @IsUUID('all', { message: 'institutionId must be a UUID' })
  @ApiPropertyOptional({ format: 'uuid' })
  institutionId?: string;

  @IsOptional()
  @IsUUID('all', { message: 'orderId must be a UUID' })
  @ApiPropertyOptional({
    format: 'uuid',
    description: 'every posting of the transactions that concern the order',
  })
  orderId?: string;

  @IsOptional()
  @IsIn(ACCOUNT_CODES)
  @ApiPropertyOptional({ enum: ACCOUNT_CODES, description: 'postings on accounts of this code' })
  account?: AccountCode;

  @IsOptional()
  @IsIn(TRANSACTION_KINDS)
  @ApiPropertyOptional({ enum: TRANSACTION_KINDS })
  kind?: TransactionKind;

  @IsInstant({ description: 'recorded at or after' })
  from?: string;

  @IsInstant({ description: 'recorded before' })
  to?: string;
}

export class JournalEntryDto {
  @ApiProperty({ example: '1042', description: 'posting id (a bigint, as a string)' })
  postingId!: string;

  @ApiProperty({ format: 'date-time', example: '2026-03-01T08:00:00.123456Z' })
  recordedAt!: string;

  @ApiProperty({ format: 'uuid' }) transactionId!: string;
  @ApiProperty({ type: 'integer', example: 518 }) seq!: number;
  @ApiProperty({ enum: TRANSACTION_KINDS, example: 'payment_received' }) kind!: string;
  @ApiProperty({ example: 'payment:TXN8842' }) reference!: string;
  @ApiProperty({ format: 'uuid' }) institutionId!: string;
  @ApiProperty({ format: 'uuid' }) accountId!: string;
  @ApiProperty({ enum: ACCOUNT_CODES, example: 'custody_cash' }) accountCode!: AccountCode;
  @ApiProperty({ format: 'uuid', nullable: true }) orderId!: string | null;

  @ApiProperty({
    enum: ['posted', 'pending', 'resolved'],
    example: 'posted',
    description: 'pending holds, resolved releases a hold, posted moves money',
  })
  phase!: PostingPhase;

  @ApiProperty({ type: 'integer', example: 80_000 }) debitFen!: number;
  @ApiProperty({ type: 'integer', example: 0 }) creditFen!: number;
  @ApiProperty({ type: 'integer', example: 3, description: "the account's version after it" })
  accountVersion!: number;
  @ApiProperty({ type: 'integer', example: 240_000 }) postedDebitsAfterFen!: number;
  @ApiProperty({ type: 'integer', example: 40_000 }) postedCreditsAfterFen!: number;
  @ApiProperty({ type: 'integer', example: 0 }) pendingDebitsAfterFen!: number;
  @ApiProperty({ type: 'integer', example: 0 }) pendingCreditsAfterFen!: number;
  @ApiProperty({ format: 'date-time' }) effectiveAt!: string;
  @ApiProperty({ example: false }) manual!: boolean;
  @ApiProperty({ format: 'uuid', nullable: true }) pendingId!: string | null;
  @ApiProperty({ enum: ['post', 'void'], nullable: true }) resolution!: 'post' | 'void' | null;
  @ApiProperty({ format: 'uuid', nullable: true }) reversalOf!: string | null;
}

export class JournalPageDto {
  @ApiProperty({ type: [JournalEntryDto] }) items!: JournalEntryDto[];
  @ApiProperty({ nullable: true, example: null }) nextCursor!: string | null;
}
