import { Body, Controller, Get, HttpStatus, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, Roles } from '../auth/auth.decorators';
import type { Principal } from '../auth/principal';
import { Idempotency } from '../common/idempotency/idempotency-key.decorator';
import { IdempotentCommand } from '../common/idempotency/idempotent-command.decorator';
import type { IdempotentRequest } from '../common/idempotency/idempotency.service';
import { IdParams } from '../institutions/validation';
import { CourseQueries } from './course.queries';
import { CourseDto, CoursePageDto, ListCoursesQuery } from './dto/course.dto';
import { CreateCourseDto } from './dto/create-course.dto';
import { CreateCourse } from './usecases/create-course.usecase';

@ApiTags('courses')
@ApiBearerAuth()
@Controller('v1/courses')
export class CoursesController {
  constructor(
    private readonly createCourseUseCase: CreateCourse,
    private readonly courses: CourseQueries,
  ) {}

  @Post()
  @IdempotentCommand({
    roles: ['institution'],
    operationId: 'createCourse',
    summary: "Add a course to your institution's catalogue",
    status: HttpStatus.CREATED,
    response: CourseDto,
    refusals: {
      400: 'VALIDATION_FAILED',
      409: 'INSTITUTION_NOT_ACTIVE, IDEMPOTENCY_KEY_REUSED',
      422: 'COURSE_PRICE_ABOVE_CAP (a subject course above the guided price; body has `capFen`)',
    },
  })
  createCourse(
    @Body() body: CreateCourseDto,
    @CurrentPrincipal() principal: Principal,
    @Idempotency() idempotency?: IdempotentRequest,
  ): Promise<CourseDto> {
    return this.createCourseUseCase.execute({ principal, idempotency, course: body });
  }

  @Get()
  @Roles('parent', 'institution', 'auditor', 'operator')
  @ApiOperation({
    operationId: 'listCourses',
    summary: "An institution's courses, oldest first, a page at a time",
  })
  @ApiOkResponse({ type: CoursePageDto })
  @ApiResponse({ status: 403, description: "FORBIDDEN_SCOPE (institution staff: another's)" })
  @ApiResponse({ status: 404, description: 'INSTITUTION_NOT_FOUND (also outside your scope)' })
  listCourses(
    @Query() query: ListCoursesQuery,
    @CurrentPrincipal() principal: Principal,
  ): Promise<CoursePageDto> {
    return this.courses.listCourses(principal, query.institutionId, query);
  }

  @Get(':id')
  @Roles('parent', 'institution', 'auditor', 'operator')
  @ApiOperation({ operationId: 'getCourse', summary: 'One course' })
  @ApiOkResponse({ type: CourseDto })
  @ApiResponse({ status: 404, description: 'COURSE_NOT_FOUND (also outside your scope)' })
  getCourse(
    @Param() params: IdParams,
    @CurrentPrincipal() principal: Principal,
  ): Promise<CourseDto> {
    return this.courses.getCourse(principal, params.id);
  }
}
