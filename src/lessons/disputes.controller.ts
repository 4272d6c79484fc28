import { Body, Controller, Get, HttpCode, HttpStatus, Post, Query } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiHeader,
  ApiOkResponse,
  ApiOperation,
  ApiResponse,
  ApiTags,
} from '@nestjs/swagger';
import { CurrentPrincipal, Roles } from '../auth/auth.decorators';
import type { Principal } from '../auth/principal';
import { Idempotency } from '../common/idempotency/idempotency-key.decorator';
import type { IdempotentRequest } from '../common/idempotency/idempotency.service';
import { PageQueryDto } from '../common/pagination/cursor';
import { IdParam } from '../common/validation/id-param';
import { IDEMPOTENCY_KEY_HEADER, ResolveDisputeDto } from './lesson.dto';
import { DisputePageDto, LessonDto } from './lesson-view.dto';
import { LessonsService } from './lessons.service';
import { ResolveDispute } from './usecases/resolve-dispute';

@ApiTags('disputes')
@ApiBearerAuth()
@Controller('v1/disputes')
export class DisputesController {
  constructor(
    private readonly lessons: LessonsService,
    private readonly resolve: ResolveDispute,
  ) {}

  @Get()
  @Roles('operator', 'auditor')
  @ApiOperation({ operationId: 'listDisputes', summary: 'Open disputes in your district' })
  @ApiOkResponse({ type: DisputePageDto })
  listDisputes(
    @Query() query: PageQueryDto,
    @CurrentPrincipal() principal: Principal,
  ): Promise<DisputePageDto> {
    return this.lessons.listDisputes(principal, query);
  }

  @Post(':lessonId/resolve')
  @Roles('operator')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({
    operationId: 'resolveDispute',
    summary: 'Decide a dispute in your district: release the fee or refund it to the order',
  })
  @ApiHeader(IDEMPOTENCY_KEY_HEADER)
  @ApiOkResponse({ type: LessonDto })
  @ApiResponse({ status: 404, description: 'LESSON_NOT_FOUND (also another district’s)' })
  @ApiResponse({ status: 409, description: 'LESSON_NOT_DISPUTED, IDEMPOTENCY_KEY_REUSED' })
  resolveDispute(
    @IdParam('lessonId') lessonId: string,
    @Body() body: ResolveDisputeDto,
    @CurrentPrincipal() principal: Principal,
    @Idempotency() idempotency?: IdempotentRequest,
  ): Promise<LessonDto> {
    return this.resolve.execute({
      principal,
      idempotency,
      lessonId,
      outcome: body.outcome,
      note: body.note,
    });
  }
}
