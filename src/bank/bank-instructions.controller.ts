import { Body, Controller, HttpCode, HttpStatus, Post } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiOkResponse,
  ApiOperation,
  ApiProperty,
  ApiPropertyOptional,
  ApiTags,
} from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsOptional, ValidateNested } from 'class-validator';
import { CurrentPrincipal, Roles } from '../auth/auth.decorators';
import { Principal } from '../auth/principal';
import { IdParam } from '../common/validation/id-param';
import { BankAccountRefDto } from './bank-notification.dto';
import { BankInstructionsService } from './bank-instructions.service';

class RetryInstructionDto {
  @IsOptional()
  @ValidateNested()
  @Type(() => BankAccountRefDto)
  @ApiPropertyOptional({ type: BankAccountRefDto, description: 'corrected destination account' })
  toAccount?: BankAccountRefDto;
}

class InstructionDto {
  @ApiProperty({ format: 'uuid', description: 'the bank end-to-end reference' }) id!: string;
  @ApiProperty({ enum: ['settlement', 'refund'] }) purpose!: string;
  @ApiProperty({ format: 'uuid' }) subjectId!: string;
  @ApiProperty({ enum: ['pending', 'submitted', 'succeeded', 'failed'] }) status!: string;
  @ApiProperty({ type: 'integer', example: 120000 }) amountFen!: number;
  @ApiProperty({ format: 'uuid', nullable: true }) retryOf!: string | null;
}

@ApiTags('bank')
@ApiBearerAuth()
@Controller('v1/bank/instructions')
export class BankInstructionsController {
  constructor(private readonly instructions: BankInstructionsService) {}

  @Post(':id/retry')
  @Roles('operator')
  @HttpCode(HttpStatus.ACCEPTED)
  @ApiOperation({
    operationId: 'retryInstruction',
    summary: 'Pay a failed settlement or refund again, optionally to a corrected account',
  })
  @ApiOkResponse({ type: InstructionDto })
  async retryInstruction(
    @IdParam() id: string,
    @Body() body: RetryInstructionDto,
    @CurrentPrincipal() principal: Principal,
  ): Promise<InstructionDto> {
    const retry = await this.instructions.retry(principal, id, body.toAccount);
    return {
      id: retry.id,
      purpose: retry.purpose,
      subjectId: retry.subjectId,
      status: retry.status,
      amountFen: retry.amountFen,
      retryOf: retry.retryOf,
    };
  }
}
