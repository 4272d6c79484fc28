import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { INSTITUTION_STATUSES, InstitutionStatus } from '../entities/institution.entity';
import { Page } from '../../common/pagination/cursor';
import { NextCursorProperty } from '../../common/pagination/cursor';

export class BankAccountDto {
  @ApiProperty({ example: 'ICBC' })
  bankCode!: string;

  @ApiProperty({ example: '6222020200112233445' })
  accountNo!: string;

  @ApiProperty({ example: 'Chengdu Bright Minds Training Centre (custody)' })
  accountName!: string;
}

export class InstitutionDto {
  @ApiProperty({ format: 'uuid', example: '3f1c2f9e-8a4b-4c55-9d7e-2b1a7c6d5e4f' })
  id!: string;

  @ApiProperty({ example: 'Chengdu Bright Minds Training Centre' })
  name!: string;

  @ApiProperty({ example: 'JY-510112-0042' })
  licenseNo!: string;

  @ApiProperty({ example: '510112' })
  districtId!: string;

  @ApiProperty({ enum: INSTITUTION_STATUSES, example: 'active' })
  status!: InstitutionStatus;

  @ApiPropertyOptional({
    type: String,
    nullable: true,
    description: 'Why it was last suspended or closed; not shown to parents',
    example: null,
  })
  statusReason?: string | null;

  @ApiProperty({
    type: BankAccountDto,
    nullable: true,
    description: 'Where parents pay; null only if none is registered (then nothing can be sold)',
  })
  custodyAccount!: BankAccountDto | null;

  @ApiPropertyOptional({
    type: BankAccountDto,
    nullable: true,
    description: 'Not shown to parents',
  })
  settlementAccount?: BankAccountDto | null;

  @ApiProperty({ format: 'date-time', example: '2025-09-01T08:00:00.000Z' })
  createdAt!: string;

  @ApiProperty({ format: 'date-time', example: '2025-09-01T08:00:00.000Z' })
  updatedAt!: string;
}

export class InstitutionPageDto implements Page<InstitutionDto> {
  @ApiProperty({ type: [InstitutionDto] })
  items!: InstitutionDto[];

  @NextCursorProperty()
  nextCursor!: string | null;
}
