import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  IsIn,
  IsISO8601,
  IsOptional,
  IsString,
  IsUUID,
  Matches,
  MaxLength,
  MinLength,
} from 'class-validator';
import { NextCursorProperty, PageQueryDto } from '../../common/pagination/cursor';

const ACCOUNT_NO = /^[0-9]{6,34}$/;
const DATE_OPTIONS = { strict: true, strictSeparator: true } as const;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;

export const LINE_STATUSES = [
  'unmatched',
  'matched',
  'bank_only',
  'amount_mismatch',
  'reversed',
  'reversal',
] as const;
export const EXCEPTION_KINDS = ['bank_only', 'ledger_only', 'amount_mismatch', 'reversal'] as const;
export type ExceptionKind = (typeof EXCEPTION_KINDS)[number];
export const STATEMENT_STATUSES = ['pending', 'reconciled', 'unreconciled'] as const;
export type StatementStatus = (typeof STATEMENT_STATUSES)[number];

export class ImportStatementQueryDto {
  @IsOptional()
  @IsString()
  @Matches(ACCOUNT_NO, { message: 'accountNo must be 6-34 digits' })
  @ApiPropertyOptional({
    example: '6222020200012345678',
    description: 'the custody account: required for a CSV; for camt.053, checked against Acct/Id',
  })
  accountNo?: string;

  @IsOptional()
  @Matches(ISO_DATE, { message: 'from must be a date YYYY-MM-DD' })
  @IsISO8601(DATE_OPTIONS, { message: 'from must be a date YYYY-MM-DD' })
  @ApiPropertyOptional({
    example: '2026-11-22',
    description:
      "a CSV's first day (default: its first row's date); required for a CSV without rows",
  })
  from?: string;

  @IsOptional()
  @Matches(ISO_DATE, { message: 'to must be a date YYYY-MM-DD' })
  @IsISO8601(DATE_OPTIONS, { message: 'to must be a date YYYY-MM-DD' })
  @ApiPropertyOptional({ example: '2026-11-22', description: "a CSV's last day" })
  to?: string;
}

export class StatementReceiptDto {
  @ApiProperty({ format: 'uuid', example: '9d0c5c8e-3b5e-4f1a-8d7e-0a4b6f1e2c3d' })
  statementId!: string;

  @ApiProperty({
    example: false,
    description: 'the same statement was imported before: nothing added',
  })
  duplicate!: boolean;

  @ApiProperty({ example: '6222020200012345678' }) accountNo!: string;
  @ApiProperty({ example: '2026-11-22' }) fromDate!: string;
  @ApiProperty({ example: '2026-11-22' }) toDate!: string;
  @ApiProperty({ type: 'integer', example: 182 }) lineCount!: number;

  @ApiProperty({
    type: 'integer',
    example: 182,
    description: 'lines not known from an earlier statement',
  })
  newLineCount!: number;
}

export class CountAndSumDto {
  @ApiProperty({ type: 'integer', example: 178 }) count!: number;
  @ApiProperty({ type: 'integer', example: 7_120_000, description: 'sum of the amounts, fen' })
  sumFen!: number;
}

export class MatchedTotalsDto extends CountAndSumDto {
  @ApiProperty({ type: 'integer', example: 1, description: 'of which booked by two operators' })
  manualCount!: number;
}

export class DayCloseDto {
  @ApiProperty({ example: '2026-11-22' }) date!: string;
  @ApiProperty({ example: '6222020200012345678' }) accountNo!: string;
  @ApiProperty({ enum: ['open', 'closed'], example: 'closed' }) status!: 'open' | 'closed';

  @ApiProperty({ type: 'integer', example: 15_400_000, description: "the bank's closing balance" })
  bankClosingFen!: number;

  @ApiProperty({
    type: 'integer',
    nullable: true,
    example: 15_400_000,
    description: 'custody_cash at the end of the China day',
  })
  ledgerBalanceFen!: number | null;

  @ApiProperty({
    type: 'integer',
    nullable: true,
    example: 0,
    description: 'matched movements the bank and the ledger booked on different days',
  })
  inTransitFen!: number | null;

  @ApiProperty({
    type: 'integer',
    nullable: true,
    example: 0,
    description: 'bank − ledger − in transit: what nothing explains',
  })
  differenceFen!: number | null;

  @ApiProperty({ type: 'integer', example: 0 }) openExceptions!: number;

  @ApiProperty({ format: 'date-time', nullable: true, example: '2026-11-23T06:31:02.000Z' })
  closedAt!: string | null;
}

export class StatementReportDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({
    enum: STATEMENT_STATUSES,
    example: 'reconciled',
    description:
      'pending: not yet matched; reconciled: every day of the period closed; unreconciled: a difference or open items remain',
  })
  status!: StatementStatus;

  @ApiProperty({ example: '6222020200012345678' }) accountNo!: string;
  @ApiProperty({ format: 'uuid' }) institutionId!: string;
  @ApiProperty({ enum: ['camt053', 'csv'], example: 'camt053' }) format!: string;
  @ApiProperty({ example: 'camt.053.001.08' }) formatVersion!: string;
  @ApiProperty({ enum: ['bank', 'operator', 'job'], example: 'bank' }) source!: string;
  @ApiProperty({ example: 'bank' }) importedBy!: string;
  @ApiProperty({ nullable: true, example: 'SBXSTMT20261123063000A1B2C3D4' }) messageId!:
    string | null;
  @ApiProperty({ nullable: true, example: '20261122-20261122-0200012345678' })
  statementRef!: string | null;
  @ApiProperty({ type: 'integer', nullable: true, example: 20779 }) sequenceNo!: number | null;
  @ApiProperty({ example: '2026-11-22' }) fromDate!: string;
  @ApiProperty({ example: '2026-11-22' }) toDate!: string;
  @ApiProperty({ type: 'integer', example: 8_280_000 }) openingBalanceFen!: number;
  @ApiProperty({ type: 'integer', example: 15_400_000 }) closingBalanceFen!: number;
  @ApiProperty({ type: CountAndSumDto }) credits!: CountAndSumDto;
  @ApiProperty({ type: CountAndSumDto }) debits!: CountAndSumDto;
  @ApiProperty({ type: 'integer', example: 182 }) lineCount!: number;
  @ApiProperty({ type: 'integer', example: 182 }) newLineCount!: number;

  @ApiProperty({ type: MatchedTotalsDto, description: 'lines of the period matched to the ledger' })
  matched!: MatchedTotalsDto;

  @ApiProperty({ type: CountAndSumDto, description: 'lines the ledger never heard of (open)' })
  bankOnly!: CountAndSumDto;

  @ApiProperty({
    type: CountAndSumDto,
    description: 'ledger movements of the period the bank lacks (open)',
  })
  ledgerOnly!: CountAndSumDto;

  @ApiProperty({ type: CountAndSumDto, description: 'referenced movements with another amount' })
  mismatched!: CountAndSumDto;

  @ApiProperty({ type: CountAndSumDto, description: 'reversals and the lines they reversed' })
  reversed!: CountAndSumDto;

  @ApiProperty({ type: CountAndSumDto, description: 'lines still waiting for the matching worker' })
  pending!: CountAndSumDto;

  @ApiProperty({ type: 'integer', example: 0, description: 'open exceptions of the period' })
  openExceptions!: number;

  @ApiProperty({
    type: DayCloseDto,
    nullable: true,
    description: "the daily close at the statement's end (its last day)",
  })
  balance!: DayCloseDto | null;

  @ApiProperty({ type: [DayCloseDto] }) days!: DayCloseDto[];
  @ApiProperty({ format: 'date-time' }) importedAt!: string;
  @ApiProperty({ format: 'date-time', nullable: true }) matchedAt!: string | null;
}

export class StatementSummaryDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ example: '6222020200012345678' }) accountNo!: string;
  @ApiProperty({ format: 'uuid' }) institutionId!: string;
  @ApiProperty({ enum: ['camt053', 'csv'] }) format!: string;
  @ApiProperty({ enum: ['bank', 'operator', 'job'] }) source!: string;
  @ApiProperty({ example: '2026-11-22' }) fromDate!: string;
  @ApiProperty({ example: '2026-11-22' }) toDate!: string;
  @ApiProperty({ type: 'integer', example: 15_400_000 }) closingBalanceFen!: number;
  @ApiProperty({ type: 'integer', example: 182 }) lineCount!: number;
  @ApiProperty({ format: 'date-time' }) importedAt!: string;
  @ApiProperty({ format: 'date-time', nullable: true }) matchedAt!: string | null;
}

export class StatementPageDto {
  @ApiProperty({ type: [StatementSummaryDto] }) items!: StatementSummaryDto[];
  @NextCursorProperty() nextCursor!: string | null;
}

export class ListStatementsQueryDto extends PageQueryDto {
  @IsOptional()
  @Matches(ACCOUNT_NO, { message: 'accountNo must be 6-34 digits' })
  @ApiPropertyOptional({ example: '6222020200012345678' })
  accountNo?: string;
}

export class ListReconciliationExceptionsQueryDto extends PageQueryDto {
  @IsOptional()
  @IsIn(['open', 'resolved', 'all'])
  @ApiPropertyOptional({ enum: ['open', 'resolved', 'all'], default: 'open' })
  status?: 'open' | 'resolved' | 'all';

  @IsOptional()
  @IsIn(EXCEPTION_KINDS)
  @ApiPropertyOptional({ enum: EXCEPTION_KINDS })
  kind?: ExceptionKind;

  @IsOptional()
  @Matches(ACCOUNT_NO, { message: 'accountNo must be 6-34 digits' })
  @ApiPropertyOptional({ example: '6222020200012345678' })
  accountNo?: string;

  @IsOptional()
  @IsUUID('all', { message: 'statementId must be a UUID' })
  @ApiPropertyOptional({
    format: 'uuid',
    description: "the exceptions of a statement's account and period",
  })
  statementId?: string;
}

export class ExceptionLineDto {
  @ApiProperty({ example: '1842' }) id!: string;
  @ApiProperty({ format: 'uuid' }) statementId!: string;
  @ApiProperty({ example: 'SBX20261122000184' }) bankRef!: string;
  @ApiProperty({ enum: ['credit', 'debit'] }) direction!: string;
  @ApiProperty({ type: 'integer', example: 40_000 }) amountFen!: number;
  @ApiProperty({ example: '2026-11-22' }) bookingDate!: string;
  @ApiProperty({ format: 'date-time', nullable: true }) bookedAt!: string | null;
  @ApiProperty({ nullable: true, example: 'PAY3F9A1C2B7D' }) endToEndId!: string | null;
  @ApiProperty({ nullable: true, example: '6214830212345678' }) counterpartyAccount!: string | null;
  @ApiProperty({ nullable: true, example: '王芳' }) counterpartyName!: string | null;
  @ApiProperty({ nullable: true, example: '学费 tuition' }) remittanceInfo!: string | null;
  @ApiProperty({ example: false }) reversal!: boolean;
  @ApiProperty({ enum: LINE_STATUSES }) status!: string;
}

export class ProposalDto {
  @ApiProperty({ example: 'op-1' }) by!: string;
  @ApiProperty({ format: 'date-time' }) at!: string;
  @ApiProperty({ example: 'Parent paid without a reference; bank confirmed the payer' })
  reason!: string;
}

export class ReconciliationExceptionDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ enum: EXCEPTION_KINDS, example: 'bank_only' }) kind!: ExceptionKind;
  @ApiProperty({ enum: ['open', 'resolved'] }) status!: string;
  @ApiProperty({ example: '6222020200012345678' }) accountNo!: string;
  @ApiProperty({ format: 'uuid' }) institutionId!: string;
  @ApiProperty({ example: '2026-11-22', description: 'the day it concerns' }) businessDate!: string;
  @ApiProperty({ enum: ['credit', 'debit'] }) direction!: string;
  @ApiProperty({
    type: 'integer',
    example: 40_000,
    description: 'the bank line’s (or ledger-only movement’s) amount',
  })
  amountFen!: number;
  @ApiProperty({
    type: 'integer',
    nullable: true,
    example: 38_000,
    description: 'amount mismatch: what the ledger has',
  })
  ledgerAmountFen!: number | null;
  @ApiProperty({ type: ExceptionLineDto, nullable: true }) line!: ExceptionLineDto | null;
  @ApiProperty({ format: 'uuid', nullable: true }) instructionId!: string | null;
  @ApiProperty({ format: 'uuid', nullable: true }) paymentId!: string | null;
  @ApiProperty({ format: 'uuid', nullable: true }) ledgerTransactionId!: string | null;
  @ApiProperty({ type: 'object', additionalProperties: true }) details!: Record<string, unknown>;
  @ApiProperty({
    type: ProposalDto,
    nullable: true,
    description: 'a proposed booking to suspense awaiting a second operator',
  })
  proposal!: ProposalDto | null;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ format: 'date-time', nullable: true }) resolvedAt!: string | null;
  @ApiProperty({ nullable: true, example: 'op-2' }) resolvedBy!: string | null;
  @ApiProperty({
    nullable: true,
    enum: ['matched', 'line_found', 'instruction_reopened', 'booked_to_suspense'],
  })
  resolution!: string | null;
  @ApiProperty({ nullable: true }) resolutionNote!: string | null;
  @ApiProperty({ format: 'uuid', nullable: true }) resolutionTransactionId!: string | null;
}

export class ReconciliationExceptionPageDto {
  @ApiProperty({ type: [ReconciliationExceptionDto] }) items!: ReconciliationExceptionDto[];
  @NextCursorProperty() nextCursor!: string | null;
}

export class BookToSuspenseDto {
  @IsString()
  @MinLength(3)
  @MaxLength(500)
  @Matches(/\S/)
  @ApiProperty({
    example: 'Parent paid without a reference; the bank confirmed the payer',
    description: 'why (proposal) or the approver’s note (approval)',
  })
  reason!: string;
}

export class BookToSuspenseResultDto {
  @ApiProperty({ format: 'uuid' }) exceptionId!: string;
  @ApiProperty({ enum: ['proposed', 'resolved'], example: 'proposed' }) status!:
    'proposed' | 'resolved';
  @ApiProperty({ example: 'op-1' }) proposedBy!: string;
  @ApiProperty({ nullable: true, example: null }) approvedBy!: string | null;
  @ApiProperty({ type: 'integer', example: 40_000 }) amountFen!: number;
  @ApiProperty({ enum: ['credit', 'debit'], example: 'credit' }) direction!: 'credit' | 'debit';
  @ApiProperty({
    format: 'uuid',
    nullable: true,
    description: 'the manual ledger transaction, once approved',
  })
  ledgerTransactionId!: string | null;
}

export class MatchRunDto {
  @ApiProperty({ format: 'uuid' }) statementId!: string;
  @ApiProperty({ example: 'queued' }) status!: 'queued';
}

export class ListDaysQueryDto extends PageQueryDto {
  @IsOptional()
  @Matches(ISO_DATE, { message: 'date must be a date YYYY-MM-DD' })
  @IsISO8601(DATE_OPTIONS, { message: 'date must be a date YYYY-MM-DD' })
  @ApiPropertyOptional({ example: '2026-11-22', description: 'China date; default yesterday' })
  date?: string;

  @IsOptional()
  @IsIn(['open', 'closed', 'missing'])
  @ApiPropertyOptional({ enum: ['open', 'closed', 'missing'] })
  status?: 'open' | 'closed' | 'missing';
}

export class AccountDayDto {
  @ApiProperty({ format: 'uuid' }) institutionId!: string;
  @ApiProperty({ example: '龙泉驿启明培训学校' }) institutionName!: string;
  @ApiProperty({ example: '6222020200012345678' }) accountNo!: string;
  @ApiProperty({ example: '2026-11-22' }) date!: string;
  @ApiProperty({
    enum: ['open', 'closed', 'missing'],
    example: 'closed',
    description: 'missing: no statement covers the day',
  })
  status!: 'open' | 'closed' | 'missing';
  @ApiProperty({ type: 'integer', nullable: true, example: 15_400_000 }) bankClosingFen!:
    number | null;
  @ApiProperty({ type: 'integer', nullable: true, example: 15_400_000 }) ledgerBalanceFen!:
    number | null;
  @ApiProperty({ type: 'integer', nullable: true, example: 0 }) inTransitFen!: number | null;
  @ApiProperty({ type: 'integer', nullable: true, example: 0 }) differenceFen!: number | null;
  @ApiProperty({ type: 'integer', example: 0 }) openExceptions!: number;
  @ApiProperty({ format: 'uuid', nullable: true }) statementId!: string | null;
}

export class AccountDayPageDto {
  @ApiProperty({ type: [AccountDayDto] }) items!: AccountDayDto[];
  @NextCursorProperty() nextCursor!: string | null;
}
