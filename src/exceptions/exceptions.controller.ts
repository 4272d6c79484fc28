import { Controller, Get, Query } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiOkResponse,
  ApiOperation,
  ApiProperty,
  ApiPropertyOptional,
  ApiTags,
} from '@nestjs/swagger';
import { IsIn, IsOptional } from 'class-validator';
import { CurrentPrincipal, Roles } from '../auth/auth.decorators';
import { Principal } from '../auth/principal';
import { PageQueryDto } from '../common/pagination/cursor';
import { OperatorExceptionsService } from './operator-exceptions.service';

class ListExceptionsQueryDto extends PageQueryDto {
  @IsOptional()
  @IsIn(['open', 'resolved'])
  @ApiPropertyOptional({ enum: ['open', 'resolved'] })
  status?: 'open' | 'resolved';
}

class OperatorExceptionDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ example: 'unmatched_payment' }) kind!: string;
  @ApiProperty({ enum: ['open', 'resolved'] }) status!: string;
  @ApiProperty({ format: 'uuid', nullable: true }) institutionId!: string | null;
  @ApiProperty({ description: 'what it is about, e.g. a payment id' }) subjectId!: string;
  @ApiProperty({ type: 'integer', nullable: true, example: 120000 }) amountFen!: number | null;
  @ApiProperty({ type: 'object', additionalProperties: true }) details!: Record<string, unknown>;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ format: 'date-time', nullable: true }) resolvedAt!: string | null;
  @ApiProperty({ nullable: true }) resolvedBy!: string | null;
  @ApiProperty({ nullable: true }) resolutionNote!: string | null;
}

class OperatorExceptionPageDto {
  @ApiProperty({ type: [OperatorExceptionDto] }) items!: OperatorExceptionDto[];
  @ApiProperty({ nullable: true }) nextCursor!: string | null;
}

@ApiTags('exceptions')
@ApiBearerAuth()
@Controller('v1/exceptions')
export class ExceptionsController {
  constructor(private readonly exceptions: OperatorExceptionsService) {}

  @Get()
  @Roles('operator', 'auditor')
  @ApiOperation({
    operationId: 'listExceptions',
    summary: "Exceptions for operators in the caller's district (unmatched money, failed payouts)",
  })
  @ApiOkResponse({ type: OperatorExceptionPageDto })
  listExceptions(@CurrentPrincipal() principal: Principal, @Query() query: ListExceptionsQueryDto) {
    return this.exceptions.list(principal, query);
  }
}
