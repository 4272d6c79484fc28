import {
  Body,
  Controller,
  Get,
  HttpCode,
  HttpStatus,
  Post,
  Query,
  Req,
  UseGuards,
} from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBearerAuth,
  ApiBody,
  ApiConsumes,
  ApiHeader,
  ApiOkResponse,
  ApiOperation,
  ApiSecurity,
  ApiTags,
} from '@nestjs/swagger';
import { RouteConfig } from '@nestjs/platform-fastify';
import { CurrentPrincipal, Public, Roles } from '../auth/auth.decorators';
import type { Principal } from '../auth/principal';
import { Idempotency } from '../common/idempotency/idempotency-key.decorator';
import { IdempotentCommand } from '../common/idempotency/idempotent-command.decorator';
import type { IdempotentRequest } from '../common/idempotency/idempotency.service';
import { IdParam } from '../common/validation/id-param';
import { BookToSuspense } from './book-to-suspense.usecase';
import {
  AccountDayPageDto,
  BookToSuspenseDto,
  BookToSuspenseResultDto,
  ImportStatementQueryDto,
  ListDaysQueryDto,
  ListReconciliationExceptionsQueryDto,
  ListStatementsQueryDto,
  MatchRunDto,
  ReconciliationExceptionPageDto,
  StatementPageDto,
  StatementReceiptDto,
  StatementReportDto,
} from './dto/reconciliation.dto';
import { ImportStatement } from './import-statement.usecase';
import { ReconciliationReports } from './reconciliation-reports.service';
import { RematchStatement } from './rematch-statement.usecase';
import {
  STATEMENT_MEDIA_TYPES,
  STATEMENT_UPLOAD_ROUTE,
  StatementRequest,
  StatementUploadGuard,
  contentTypeOf,
} from './statement-upload';

@ApiTags('reconciliation')
@ApiBearerAuth()
@Controller('v1/reconciliation')
export class ReconciliationController {
  constructor(
    private readonly importStatementUseCase: ImportStatement,
    private readonly bookToSuspenseUseCase: BookToSuspense,
    private readonly rematch: RematchStatement,
    private readonly reports: ReconciliationReports,
  ) {}

  @Post('statements')
  @RouteConfig(STATEMENT_UPLOAD_ROUTE)
  @Public()
  @UseGuards(StatementUploadGuard)
  @HttpCode(HttpStatus.ACCEPTED)
  @ApiSecurity('bank-hmac')
  @ApiHeader({ name: 'X-Bank-Timestamp', required: false, description: 'bank: unix seconds' })
  @ApiHeader({ name: 'X-Bank-Signature', required: false, description: 'bank: sha256=<hex HMAC>' })
  @ApiConsumes(...STATEMENT_MEDIA_TYPES)
  @ApiBody({
    description:
      'The statement file itself: ISO 20022 camt.053.001.02 or .001.08 (UTF-8 XML, no DOCTYPE), ' +
      'or a bank CSV (UTF-8 or GBK; columns 交易日期, 交易时间, 借方发生额, 贷方发生额, 余额, 对方账号, ' +
      '对方户名, 摘要, 流水号, 客户参考号) with ?accountNo=. A file that fails any check is refused ' +
      'whole with 422 naming the element or line.',
    schema: { type: 'string', format: 'binary' },
  })
  @ApiOperation({
    operationId: 'importStatement',
    summary:
      'Import a bank statement (bank with HMAC, or an operator); matching follows in the worker',
  })
  @ApiAcceptedResponse({ type: StatementReceiptDto })
  importStatement(
    @Req() request: StatementRequest,
    @Query() query: ImportStatementQueryDto,
  ): Promise<StatementReceiptDto> {
    const { mediaType, charset } = contentTypeOf(request);
    return this.importStatementUseCase.execute({
      body: request.rawBody ?? Buffer.alloc(0),
      mediaType,
      charset,
      accountNo: query.accountNo,
      fromDate: query.from,
      toDate: query.to,
      source: request.statementSource ?? 'operator',
      principal: request.principal,
    });
  }

  @Get('statements')
  @Roles('auditor', 'operator')
  @ApiOperation({ operationId: 'listStatements', summary: 'Imported statements in your district' })
  @ApiOkResponse({ type: StatementPageDto })
  listStatements(@CurrentPrincipal() principal: Principal, @Query() query: ListStatementsQueryDto) {
    return this.reports.statements(principal, query);
  }

  @Get('statements/:id')
  @Roles('auditor', 'operator')
  @ApiOperation({
    operationId: 'getStatementReport',
    summary:
      'Status and report of a statement: matched, bank-only, ledger-only, mismatched, balance difference per day',
  })
  @ApiOkResponse({ type: StatementReportDto })
  getStatementReport(@IdParam() id: string, @CurrentPrincipal() principal: Principal) {
    return this.reports.statement(principal, id);
  }

  @Post('statements/:id/match')
  @Roles('operator')
  @HttpCode(HttpStatus.ACCEPTED)
  @ApiOperation({
    operationId: 'rematchStatement',
    summary: "Match the statement's account again (after late notifications or a retry)",
  })
  @ApiAcceptedResponse({ type: MatchRunDto })
  rematchStatement(
    @IdParam() id: string,
    @CurrentPrincipal() principal: Principal,
  ): Promise<MatchRunDto> {
    return this.rematch.execute(principal, id);
  }

  @Get('exceptions')
  @Roles('auditor', 'operator')
  @ApiOperation({
    operationId: 'listReconciliationExceptions',
    summary: 'Open (or resolved) reconciliation exceptions with their bank lines',
  })
  @ApiOkResponse({ type: ReconciliationExceptionPageDto })
  listReconciliationExceptions(
    @CurrentPrincipal() principal: Principal,
    @Query() query: ListReconciliationExceptionsQueryDto,
  ) {
    return this.reports.exceptions(principal, query);
  }

  @Post('exceptions/:id/book-to-suspense')
  @IdempotentCommand({
    roles: ['operator'],
    operationId: 'bookToSuspense',
    summary:
      'Book bank-only money to suspense: one operator proposes, a different operator approves (posts the manual entry)',
    response: BookToSuspenseResultDto,
  })
  bookToSuspense(
    @IdParam() id: string,
    @Body() body: BookToSuspenseDto,
    @CurrentPrincipal() principal: Principal,
    @Idempotency() idempotency: IdempotentRequest | undefined,
  ): Promise<BookToSuspenseResultDto> {
    return this.bookToSuspenseUseCase.execute({
      principal,
      exceptionId: id,
      reason: body.reason,
      idempotency,
    });
  }

  @Get('days')
  @Roles('auditor', 'operator')
  @ApiOperation({
    operationId: 'listReconciliationDays',
    summary:
      "Each custody account's daily close on a date: closed, open (with the difference) or missing",
  })
  @ApiOkResponse({ type: AccountDayPageDto })
  listReconciliationDays(
    @CurrentPrincipal() principal: Principal,
    @Query() query: ListDaysQueryDto,
  ) {
    return this.reports.days(principal, query);
  }
}
