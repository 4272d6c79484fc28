import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  IsInt,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  MinLength,
} from 'class-validator';
import { IsId } from '../common/validation/decorators';
import { ORDER_STATUSES, OrderStatus } from './entities/order.entity';

export class PlaceOrderDto {
  @IsId()
  courseId!: string;

  @IsInt()
  @Min(1)
  @Max(1000)
  @ApiProperty({ type: 'integer', minimum: 1, example: 20, description: 'paid lessons' })
  lessons!: number;

  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(1000)
  @ApiPropertyOptional({
    type: 'integer',
    minimum: 0,
    example: 2,
    description: 'free lessons; count toward the lesson cap',
  })
  bonusLessons?: number;

  @IsString()
  @MinLength(1)
  @MaxLength(100)
  @Matches(/\S/, { message: 'studentName must not be blank' })
  @ApiProperty({ example: '王小明' })
  studentName!: string;
}

export class BankAccountDto {
  @ApiProperty({ example: 'ICBC' }) bankCode!: string;
  @ApiProperty({ example: '6222020200012345678' }) accountNo!: string;
  @ApiProperty({ example: '成都龙泉驿某培训学校监管账户' }) accountName!: string;
}

export class OrderDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ enum: ORDER_STATUSES }) status!: OrderStatus;
  @ApiProperty({ format: 'uuid' }) institutionId!: string;
  @ApiProperty({ format: 'uuid' }) courseId!: string;
  @ApiProperty({ example: '王小明' }) studentName!: string;
  @ApiProperty({
    example: 'GF-2021-2604',
    description: 'model contract the purchase is made under',
  })
  contractVersion!: string;
  @ApiProperty({ example: 'ELMZXW6YTBOI3DPNRSGK4ZAB', description: 'quote it when paying' })
  paymentReference!: string;
  @ApiProperty({ type: BankAccountDto, description: 'pay into this custody account only' })
  custodyAccount!: BankAccountDto;
  @ApiProperty({ type: 'integer', example: 4000 }) lessonPriceFen!: number;
  @ApiProperty({ type: 'integer', example: 80000 }) amountFen!: number;
  @ApiProperty({ type: 'integer', example: 20 }) lessonsPaid!: number;
  @ApiProperty({ type: 'integer', example: 2 }) bonusLessons!: number;
  @ApiProperty({ type: 'integer', example: 3, description: 'released lessons' })
  lessonsConsumed!: number;
  @ApiProperty({
    type: 'integer',
    example: 1,
    description: 'recorded, not yet confirmed or resolved',
  })
  lessonsHeld!: number;
  @ApiProperty({ type: 'integer', example: 80000 }) paidFen!: number;
  @ApiProperty({ type: 'integer', example: 12000 }) releasedFen!: number;
  @ApiProperty({ type: 'integer', example: 4000 }) heldFen!: number;
  @ApiProperty({ type: 'integer', example: 0, description: 'approved refunds' })
  refundedFen!: number;
  @ApiProperty({ type: 'integer', example: 0, description: 'requested, awaiting a decision' })
  refundPendingFen!: number;
  @ApiProperty({
    type: 'integer',
    example: 64000,
    description: 'paid − released − held − refunded',
  })
  refundableFen!: number;
  @ApiProperty({ format: 'date', example: '2026-12-01' }) firstLessonOn!: string;
  @ApiProperty({ format: 'date', example: '2027-02-28' }) lastLessonOn!: string;
  @ApiProperty({ format: 'date-time', nullable: true }) paidAt!: string | null;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
}

export class OrderPageDto {
  @ApiProperty({ type: [OrderDto] }) items!: OrderDto[];
  @ApiProperty({ nullable: true }) nextCursor!: string | null;
}
