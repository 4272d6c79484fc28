import { Controller, Get, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, Roles } from '../auth/auth.decorators';
import { Principal } from '../auth/principal';
import { AuditRequestPageDto, AuditRequestQueryDto } from './dto/audit-request.dto';
import { AuditTrail } from './trail/audit-trail.service';

/** The trail of audit requests, for the district's operators: who looked at what, and when. */
@ApiTags('audit')
@ApiBearerAuth()
@Controller('v1/audit/requests')
export class AuditRequestsController {
  constructor(private readonly trail: AuditTrail) {}

  @Get()
  @Roles('operator')
  @ApiOperation({
    operationId: 'listAuditRequests',
    summary: "Audit requests of the caller's district, oldest first",
  })
  @ApiOkResponse({ type: AuditRequestPageDto })
  listAuditRequests(
    @Query() query: AuditRequestQueryDto,
    @CurrentPrincipal() principal: Principal,
  ) {
    return this.trail.list(principal, query);
  }
}
