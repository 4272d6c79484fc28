import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, MaxLength, MinLength } from 'class-validator';
import { PageQueryDto } from '../../common/pagination/cursor';
import { IsInstant } from './instant';

export class AuditRequestQueryDto extends PageQueryDto {
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(128)
  @ApiPropertyOptional({ example: 'aud-1', description: 'only this principal' })
  principalSub?: string;

  @IsInstant({ description: 'made at or after' })
  from?: string;

  @IsInstant({ description: 'made before' })
  to?: string;
}

export class AuditRequestDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ format: 'date-time', description: 'when the request arrived' }) at!: string;
  @ApiProperty({ nullable: true, example: 'aud-1' }) principalSub!: string | null;
  @ApiProperty({ nullable: true, example: 'auditor' }) principalRole!: string | null;
  @ApiProperty({ example: 'GET' }) method!: string;
  @ApiProperty({ example: '/v1/audit/journal?institutionId=3f1c2f9e-8a4b-4c55-9d7e-2b1a7c6d5e4f' })
  path!: string;
  @ApiProperty({ type: 'integer', example: 200 }) statusCode!: number;
  @ApiProperty({ type: 'integer', example: 4 }) durationMs!: number;
  @ApiProperty({ example: false, description: 'the client left before the answer ended' })
  aborted!: boolean;
  @ApiProperty({ nullable: true, example: '5f0e…', description: 'X-Request-Id' })
  requestId!: string | null;
}

export class AuditRequestPageDto {
  @ApiProperty({ type: [AuditRequestDto] }) items!: AuditRequestDto[];
  @ApiProperty({ nullable: true, example: null }) nextCursor!: string | null;
}
