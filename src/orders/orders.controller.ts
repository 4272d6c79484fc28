import { Body, Controller, Get, HttpStatus, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, Roles } from '../auth/auth.decorators';
import { Principal } from '../auth/principal';
import { Idempotency } from '../common/idempotency/idempotency-key.decorator';
import { IdempotentCommand } from '../common/idempotency/idempotent-command.decorator';
import { IdempotentRequest } from '../common/idempotency/idempotency.service';
import { PageQueryDto } from '../common/pagination/cursor';
import { IdParam } from '../common/validation/id-param';
import { OrderDto, OrderPageDto, PlaceOrderDto } from './orders.dto';
import { OrdersService } from './orders.service';
import { PlaceOrder } from './place-order.usecase';

@ApiTags('orders')
@ApiBearerAuth()
@Controller('v1/orders')
export class OrdersController {
  constructor(
    private readonly placeOrderUseCase: PlaceOrder,
    private readonly orders: OrdersService,
  ) {}

  @Post()
  @IdempotentCommand({
    roles: ['parent'],
    operationId: 'placeOrder',
    summary: 'Buy a package of lessons (pay it into custody)',
    status: HttpStatus.CREATED,
    response: OrderDto,
  })
  placeOrder(
    @Body() body: PlaceOrderDto,
    @CurrentPrincipal() principal: Principal,
    @Idempotency() idempotency?: IdempotentRequest,
  ) {
    return this.placeOrderUseCase.execute({
      principal,
      idempotency,
      courseId: body.courseId,
      lessons: body.lessons,
      bonusLessons: body.bonusLessons ?? 0,
      studentName: body.studentName.trim(),
    });
  }

  @Get(':id')
  @Roles('parent', 'institution', 'auditor', 'operator')
  @ApiOperation({ operationId: 'getOrder', summary: 'An order with its figures from the ledger' })
  @ApiOkResponse({ type: OrderDto })
  getOrder(@IdParam() id: string, @CurrentPrincipal() principal: Principal) {
    return this.orders.getOrder(principal, id);
  }

  @Get()
  @Roles('parent', 'institution', 'auditor', 'operator')
  @ApiOperation({ operationId: 'listOrders', summary: 'Orders in scope, oldest first' })
  @ApiOkResponse({ type: OrderPageDto })
  listOrders(@CurrentPrincipal() principal: Principal, @Query() query: PageQueryDto) {
    return this.orders.listOrders(principal, query);
  }
}
