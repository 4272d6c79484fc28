import { ApiProperty } from '@nestjs/swagger';
import {
  INSTITUTION_STATUSES,
  InstitutionStatus,
} from '../../institutions/entities/institution.entity';

export class AuditFiguresDto {
  @ApiProperty({ type: 'integer', example: 1_250_000, description: 'custody_cash, posted' })
  heldInCustodyFen!: number;

  @ApiProperty({
    type: 'integer',
    example: 1_180_000,
    description: 'unconsumed escrow of every order plus approved refunds not yet paid',
  })
  owedToParentsFen!: number;

  @ApiProperty({ type: 'integer', example: 1_160_000, description: 'order_escrow, posted' })
  unconsumedEscrowFen!: number;

  @ApiProperty({
    type: 'integer',
    example: 8_000,
    description: 'escrow held for recorded lessons not yet confirmed or resolved',
  })
  heldForLessonsFen!: number;

  @ApiProperty({
    type: 'integer',
    example: 60_000,
    description: 'settlement_payable: released to institutions, not yet paid out',
  })
  releasedNotSettledFen!: number;

  @ApiProperty({
    type: 'integer',
    example: 20_000,
    description: 'refund_payable, posted: approved refunds not yet paid back',
  })
  refundsPendingFen!: number;

  @ApiProperty({
    type: 'integer',
    example: 5_000,
    description: 'escrow held for refunds requested and not yet decided',
  })
  refundsRequestedFen!: number;

  @ApiProperty({ type: 'integer', example: 10_000, description: 'suspense: unmatched money' })
  suspenseFen!: number;

  @ApiProperty({ type: 'integer', example: 2, description: 'lessons in dispute' })
  openDisputes!: number;

  @ApiProperty({
    type: 'integer',
    example: 1,
    description: 'open operator exceptions: unmatched money, failed payouts',
  })
  openExceptions!: number;

  @ApiProperty({
    type: 'integer',
    example: 0,
    description: 'open reconciliation exceptions: statement lines and movements left unmatched',
  })
  openReconciliationExceptions!: number;
}

export class InstitutionFiguresDto extends AuditFiguresDto {
  @ApiProperty({ format: 'uuid' }) institutionId!: string;
  @ApiProperty({ example: '龙泉驿启明培训学校' }) name!: string;
  @ApiProperty({ enum: INSTITUTION_STATUSES, example: 'active' }) status!: InstitutionStatus;

  @ApiProperty({
    example: true,
    description: 'custody holds at least what is owed to parents (DESIGN.md rule 10)',
  })
  custodyCoversParents!: boolean;
}

export class InstitutionsByStatusDto {
  @ApiProperty({ type: 'integer', example: 41 }) active!: number;
  @ApiProperty({ type: 'integer', example: 2 }) suspended!: number;
  @ApiProperty({ type: 'integer', example: 1 }) closed!: number;
}

export class AuditSummaryDto {
  @ApiProperty({ example: '510112' }) districtId!: string;
  @ApiProperty({ format: 'date-time', description: 'the instant the figures were read' })
  asOf!: string;

  @ApiProperty({
    type: AuditFiguresDto,
    description: 'district totals; openExceptions also counts those naming no institution',
  })
  totals!: AuditFiguresDto;

  @ApiProperty({ type: InstitutionsByStatusDto }) institutionsByStatus!: InstitutionsByStatusDto;
  @ApiProperty({ type: [InstitutionFiguresDto] }) institutions!: InstitutionFiguresDto[];
}
