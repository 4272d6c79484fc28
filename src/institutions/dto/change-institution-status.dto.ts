import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, ValidateIf } from 'class-validator';
import { INSTITUTION_STATUSES, InstitutionStatus } from '../entities/institution.entity';
import { IsTrimmedText } from '../validation';

export class ChangeInstitutionStatusDto {
  @ApiProperty({
    enum: INSTITUTION_STATUSES,
    example: 'suspended',
    description: '`closed` is final',
  })
  @IsIn(INSTITUTION_STATUSES)
  status!: InstitutionStatus;

  @ApiPropertyOptional({
    description: 'Required when suspending or closing',
    example: 'Licence revoked by the district bureau',
  })
  @ValidateIf(
    (dto: ChangeInstitutionStatusDto) => dto.status !== 'active' || dto.reason !== undefined,
  )
  @IsTrimmedText(1, 500)
  reason?: string;
}
