import { Controller, Get, Query, Req, StreamableFile } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiExtraModels,
  ApiOkResponse,
  ApiOperation,
  ApiProduces,
  ApiTags,
  getSchemaPath,
} from '@nestjs/swagger';
import accepts from 'accepts';
import type { FastifyRequest } from 'fastify';
import { CurrentPrincipal, Roles } from '../auth/auth.decorators';
import { Principal } from '../auth/principal';
import { IdParam } from '../common/validation/id-param';
import { AuditSummaryService } from './audit-summary.service';
import { BalancesService } from './balances.service';
import { BalancesQueryDto, InstitutionBalancesDto } from './dto/balances.dto';
import { IntegrityQueryDto, IntegrityReportDto } from './dto/integrity.dto';
import { JournalPageDto, JournalQueryDto } from './dto/journal.dto';
import { NoQueryParams } from './dto/no-query.pipe';
import { OrderHistoryDto } from './dto/order-history.dto';
import { AuditSummaryDto } from './dto/summary.dto';
import { JournalService } from './journal.service';
import { OrderHistoryService } from './order-history.service';
import { IntegrityService } from './sealing/integrity.service';

const CSV = 'text/csv';

/** Read-only: auditors of a district read its books; nothing here writes money. */
@ApiTags('audit')
@ApiBearerAuth()
@Controller('v1/audit')
export class AuditController {
  constructor(
    private readonly summary: AuditSummaryService,
    private readonly balances: BalancesService,
    private readonly journal: JournalService,
    private readonly history: OrderHistoryService,
    private readonly integrity: IntegrityService,
  ) {}

  @Get('summary')
  @Roles('auditor')
  @ApiOperation({
    operationId: 'getAuditSummary',
    summary: "The district's money and open items, in total and per institution",
  })
  @ApiOkResponse({ type: AuditSummaryDto })
  getAuditSummary(
    @CurrentPrincipal() principal: Principal,
    @Query(NoQueryParams) _query: Record<string, unknown>,
  ) {
    return this.summary.getSummary(principal);
  }

  @Get('institutions/:id/balances')
  @Roles('auditor')
  @ApiOperation({
    operationId: 'getInstitutionBalances',
    summary: 'Every ledger account of an institution, posted and pending, at an instant',
  })
  @ApiOkResponse({ type: InstitutionBalancesDto })
  getInstitutionBalances(
    @IdParam() id: string,
    @Query() query: BalancesQueryDto,
    @CurrentPrincipal() principal: Principal,
  ) {
    return this.balances.getInstitutionBalances(principal, id, query);
  }

  @Get('journal')
  @Roles('auditor')
  @ApiOperation({
    operationId: 'listJournal',
    summary: 'Postings in recording order; with Accept: text/csv, the whole filtered journal',
  })
  @ApiProduces('application/json', CSV)
  @ApiExtraModels(JournalPageDto)
  @ApiOkResponse({
    description: 'a page (JSON), or the whole filtered journal as RFC 4180 CSV, streamed',
    content: {
      'application/json': { schema: { $ref: getSchemaPath(JournalPageDto) } },
      [CSV]: { schema: { type: 'string', example: 'posting_id,recorded_at,…\r\n' } },
    },
  })
  async listJournal(
    @Query() query: JournalQueryDto,
    @CurrentPrincipal() principal: Principal,
    @Req() request: FastifyRequest,
  ) {
    if (accepts(request.raw).type(['application/json', CSV]) !== CSV) {
      return this.journal.listJournal(principal, query);
    }
    const stream = await this.journal.exportJournalCsv(principal, query);
    return new StreamableFile(stream, {
      type: `${CSV}; charset=utf-8`,
      disposition: 'attachment; filename="journal.csv"',
    });
  }

  @Get('orders/:id/history')
  @Roles('auditor')
  @ApiOperation({
    operationId: 'getOrderHistory',
    summary: 'Every event and every posting of one order',
  })
  @ApiOkResponse({ type: OrderHistoryDto })
  getOrderHistory(
    @IdParam() id: string,
    @CurrentPrincipal() principal: Principal,
    @Query(NoQueryParams) _query: Record<string, unknown>,
  ) {
    return this.history.getOrderHistory(principal, id);
  }

  @Get('integrity')
  @Roles('auditor')
  @ApiOperation({
    operationId: 'verifyIntegrity',
    summary: 'Recomputes the seal chain from the rows and reports the first block that fails',
  })
  @ApiOkResponse({ type: IntegrityReportDto })
  verifyIntegrity(@Query() query: IntegrityQueryDto) {
    return this.integrity.verify(query);
  }
}
