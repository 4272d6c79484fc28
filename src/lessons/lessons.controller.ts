import { Body, Controller, Get, HttpStatus, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, Roles } from '../auth/auth.decorators';
import type { Principal } from '../auth/principal';
import { Idempotency } from '../common/idempotency/idempotency-key.decorator';
import { IdempotentCommand } from '../common/idempotency/idempotent-command.decorator';
import type { IdempotentRequest } from '../common/idempotency/idempotency.service';
import { IdParam } from '../common/validation/id-param';
import {
  ConfirmLessonDto,
  DisputeLessonDto,
  ListLessonsQuery,
  RecordLessonDto,
} from './lesson.dto';
import { LessonDto, LessonListDto } from './lesson-view.dto';
import { LessonsService } from './lessons.service';
import { ConfirmLesson } from './usecases/confirm-lesson';
import { DisputeLesson } from './usecases/dispute-lesson';
import { RecordLesson } from './usecases/record-lesson';

@ApiTags('lessons')
@ApiBearerAuth()
@Controller('v1/lessons')
export class LessonsController {
  constructor(
    private readonly lessons: LessonsService,
    private readonly record: RecordLesson,
    private readonly confirm: ConfirmLesson,
    private readonly dispute: DisputeLesson,
  ) {}

  @Post()
  @IdempotentCommand({
    roles: ['institution'],
    operationId: 'recordLesson',
    summary: 'Record a delivered lesson of an active order; holds its fee',
    status: HttpStatus.CREATED,
    response: LessonDto,
    refusals: {
      400: 'VALIDATION_FAILED',
      404: 'ORDER_NOT_FOUND (also another institution’s)',
      409:
        'ORDER_NOT_ACTIVE, INSTITUTION_NOT_ACTIVE, LESSONS_EXHAUSTED, LESSON_ALREADY_RECORDED, ' +
        'INSUFFICIENT_FUNDS, IDEMPOTENCY_KEY_REUSED',
      422: 'LESSON_IN_FUTURE, LESSON_BEFORE_COURSE_START',
    },
  })
  recordLesson(
    @Body() body: RecordLessonDto,
    @CurrentPrincipal() principal: Principal,
    @Idempotency() idempotency?: IdempotentRequest,
  ): Promise<LessonDto> {
    return this.record.execute({
      principal,
      idempotency,
      orderId: body.orderId,
      deliveredAt: new Date(body.deliveredAt),
      note: body.note,
    });
  }

  @Get()
  @Roles('parent', 'institution', 'auditor', 'operator')
  @ApiOperation({ operationId: 'listLessons', summary: 'The lessons of an order you may see' })
  @ApiOkResponse({ type: LessonListDto })
  @ApiResponse({ status: 404, description: 'ORDER_NOT_FOUND (also outside your scope)' })
  listLessons(
    @Query() query: ListLessonsQuery,
    @CurrentPrincipal() principal: Principal,
  ): Promise<LessonListDto> {
    return this.lessons.listLessons(principal, query.orderId);
  }

  @Get(':id')
  @Roles('parent', 'institution', 'auditor', 'operator')
  @ApiOperation({ operationId: 'getLesson', summary: 'One lesson you may see' })
  @ApiOkResponse({ type: LessonDto })
  @ApiResponse({ status: 404, description: 'LESSON_NOT_FOUND (also outside your scope)' })
  getLesson(@IdParam() id: string, @CurrentPrincipal() principal: Principal): Promise<LessonDto> {
    return this.lessons.getLesson(principal, id);
  }

  @Post(':id/confirm')
  @IdempotentCommand({
    roles: ['parent'],
    operationId: 'confirmLesson',
    summary: "Confirm your child's lesson, optionally rating it; releases its fee",
    response: LessonDto,
    refusals: {
      404: 'LESSON_NOT_FOUND (also another parent’s)',
      409: 'LESSON_ALREADY_CONFIRMED, LESSON_DISPUTED, LESSON_REFUNDED, IDEMPOTENCY_KEY_REUSED',
    },
  })
  confirmLesson(
    @IdParam() id: string,
    @Body() body: ConfirmLessonDto,
    @CurrentPrincipal() principal: Principal,
    @Idempotency() idempotency?: IdempotentRequest,
  ): Promise<LessonDto> {
    return this.confirm.execute({
      principal,
      idempotency,
      lessonId: id,
      rating: body.rating,
      comment: body.comment,
    });
  }

  @Post(':id/dispute')
  @IdempotentCommand({
    roles: ['parent'],
    operationId: 'disputeLesson',
    summary: "Dispute your child's lesson; its fee stays held until an operator decides",
    response: LessonDto,
    refusals: {
      404: 'LESSON_NOT_FOUND (also another parent’s)',
      409: 'LESSON_ALREADY_CONFIRMED, LESSON_DISPUTED, LESSON_REFUNDED, IDEMPOTENCY_KEY_REUSED',
    },
  })
  disputeLesson(
    @IdParam() id: string,
    @Body() body: DisputeLessonDto,
    @CurrentPrincipal() principal: Principal,
    @Idempotency() idempotency?: IdempotentRequest,
  ): Promise<LessonDto> {
    return this.dispute.execute({
      principal,
      idempotency,
      lessonId: id,
      reason: body.reason,
    });
  }
}
