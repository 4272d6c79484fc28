import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { IsFen } from '../common/validation/decorators';
import { REFUND_REASONS, RefundReason } from './refund.entity';

export class RequestRefundDto {
  @IsIn(REFUND_REASONS)
  @ApiProperty({
    enum: REFUND_REASONS,
    description:
      'parents: before_start, mid_course, cooling_off; operators also institution_default, closure, over_cap, dispute',
  })
  reason!: RefundReason;

  @IsOptional()
  @IsString()
  @MaxLength(500)
  @ApiPropertyOptional({ example: 'moving to another city' })
  note?: string;

  @IsOptional()
  @IsFen({ description: 'operators only: part of the refundable amount (e.g. over-cap money)' })
  amountFen?: number;
}

export class RejectRefundDto {
  @IsString()
  @MaxLength(500)
  @Matches(/\S/, { message: 'reason must not be blank' })
  @ApiProperty({ example: 'the parent attended all lessons of the period' })
  reason!: string;
}

export class OperatorRefundDecisionDto {
  @IsIn(['approve', 'decline'])
  @ApiProperty({ enum: ['approve', 'decline'] })
  outcome!: 'approve' | 'decline';

  @IsString()
  @MaxLength(500)
  @Matches(/\S/, { message: 'note must not be blank' })
  @ApiProperty({ example: 'contract allows a refund of unconsumed lessons' })
  note!: string;
}

export class RefundDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ format: 'uuid' }) orderId!: string;
  @ApiProperty({ format: 'uuid' }) institutionId!: string;
  @ApiProperty({ enum: REFUND_REASONS }) reason!: string;
  @ApiProperty({ nullable: true }) note!: string | null;
  @ApiProperty({ type: 'integer', example: 64000 }) amountFen!: number;
  @ApiProperty({
    enum: ['requested', 'rejected', 'approved', 'paying', 'paid', 'failed', 'declined'],
    description:
      'requested → approved → paying → paid | failed; rejected (to an operator) → approved | declined',
  })
  status!: string;
  @ApiProperty({ format: 'date-time' }) requestedAt!: string;
  @ApiProperty({ format: 'date', nullable: true, description: 'silence until this day approves' })
  respondBy!: string | null;
  @ApiProperty({ format: 'date', nullable: true, description: 'the money is due back by this day' })
  dueOn!: string | null;
  @ApiProperty({ enum: ['institution', 'silence', 'operator', 'automatic'], nullable: true })
  approvedVia!: string | null;
  @ApiProperty({ format: 'date-time', nullable: true }) decidedAt!: string | null;
  @ApiProperty({ nullable: true }) rejectionReason!: string | null;
  @ApiProperty({ nullable: true }) operatorNote!: string | null;
  @ApiProperty({ format: 'uuid', nullable: true }) instructionId!: string | null;
  @ApiProperty({ format: 'date-time', nullable: true }) paidAt!: string | null;
}

export class RefundListDto {
  @ApiProperty({ type: [RefundDto] }) items!: RefundDto[];
}

class TallyDto {
  @ApiProperty({ type: 'integer', example: 50 }) count!: number;
  @ApiProperty({ type: 'integer', example: 2000000 }) amountFen!: number;
}

export class ClosureProgressDto {
  @ApiProperty({ format: 'uuid' }) institutionId!: string;
  @ApiProperty({ format: 'date-time' }) closedAt!: string;
  @ApiProperty() closedBy!: string;
  @ApiProperty() reason!: string;
  @ApiProperty({ type: 'integer' }) ordersRefunded!: number;
  @ApiProperty({ type: TallyDto }) requested!: TallyDto;
  @ApiProperty({ type: TallyDto }) paid!: TallyDto;
  @ApiProperty({ type: TallyDto }) paying!: TallyDto;
  @ApiProperty({ type: TallyDto }) failed!: TallyDto;
  @ApiProperty({
    type: 'integer',
    description: 'what custody still holds (settled money excluded)',
  })
  custodyCashFen!: number;
}
