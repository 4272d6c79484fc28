import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  HttpStatus,
  Param,
  Put,
  Query,
} from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiResponse,
  ApiTags,
} from '@nestjs/swagger';
import { CurrentPrincipal, Roles } from '../auth/auth.decorators';
import type { Principal } from '../auth/principal';
import {
  CalendarDayDto,
  CalendarDayParams,
  CalendarDaysDto,
  CalendarRangeQuery,
  SetCalendarDayDto,
} from './calendar.dto';
import { CalendarService } from './calendar.service';
import { DistrictParams } from '../institutions/validation';

@ApiTags('calendar')
@ApiBearerAuth()
@Controller('v1/districts/:districtId/calendar')
export class CalendarController {
  constructor(private readonly calendar: CalendarService) {}

  @Put(':day')
  @Roles('operator')
  @ApiOperation({
    operationId: 'setCalendarDay',
    summary: 'Mark a day of your district as a holiday or a make-up working day',
  })
  @ApiOkResponse({ type: CalendarDayDto })
  @ApiResponse({ status: 403, description: 'FORBIDDEN_ROLE, FORBIDDEN_SCOPE (another district)' })
  setCalendarDay(
    @Param() params: CalendarDayParams,
    @Body() body: SetCalendarDayDto,
    @CurrentPrincipal() principal: Principal,
  ): Promise<CalendarDayDto> {
    return this.calendar.setDay(principal, params.districtId, params.day, body);
  }

  @Delete(':day')
  @Roles('operator')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiOperation({
    operationId: 'clearCalendarDay',
    summary: 'Return a day to the default for its weekday',
  })
  @ApiNoContentResponse({ description: 'the day follows the Monday-Friday default again' })
  @ApiResponse({ status: 403, description: 'FORBIDDEN_ROLE, FORBIDDEN_SCOPE (another district)' })
  clearCalendarDay(
    @Param() params: CalendarDayParams,
    @CurrentPrincipal() principal: Principal,
  ): Promise<void> {
    return this.calendar.clearDay(principal, params.districtId, params.day);
  }

  @Get()
  @Roles('operator', 'auditor', 'institution')
  @ApiOperation({
    operationId: 'listCalendarDays',
    summary: "The overrides of your district's working-day calendar in a range of days",
  })
  @ApiOkResponse({ type: CalendarDaysDto })
  @ApiResponse({ status: 400, description: 'VALIDATION_FAILED (also a range over 366 days)' })
  @ApiResponse({ status: 403, description: 'FORBIDDEN_ROLE, FORBIDDEN_SCOPE (another district)' })
  listCalendarDays(
    @Param() params: DistrictParams,
    @Query() query: CalendarRangeQuery,
    @CurrentPrincipal() principal: Principal,
  ): Promise<CalendarDaysDto> {
    return this.calendar.listDays(principal, params.districtId, query.from, query.to);
  }
}
