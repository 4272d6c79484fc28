import { ApiProperty } from '@nestjs/swagger';

export class SettlementDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ format: 'uuid' }) institutionId!: string;
  @ApiProperty({ type: 'integer', example: 240000 }) amountFen!: number;
  @ApiProperty({ type: 'integer', example: 60 }) lessonCount!: number;
  @ApiProperty({ enum: ['paying', 'paid', 'failed'] }) status!: string;
  @ApiProperty({ format: 'uuid', nullable: true, description: 'the bank end-to-end reference' })
  instructionId!: string | null;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ format: 'date-time', nullable: true }) paidAt!: string | null;
}

export class SettlementLessonDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ format: 'uuid' }) orderId!: string;
  @ApiProperty({ type: 'integer', example: 3 }) sequence!: number;
  @ApiProperty({ type: 'integer', example: 4000 }) feeFen!: number;
  @ApiProperty({ format: 'date-time', nullable: true }) confirmedAt!: string | null;
}

export class SettlementDetailDto extends SettlementDto {
  @ApiProperty({ type: [SettlementLessonDto] }) lessons!: SettlementLessonDto[];
}

export class SettlementPageDto {
  @ApiProperty({ type: [SettlementDto] }) items!: SettlementDto[];
  @ApiProperty({ nullable: true }) nextCursor!: string | null;
}

export class SettlementRunDto {
  @ApiProperty({ type: [SettlementDto] }) batches!: SettlementDto[];
}
