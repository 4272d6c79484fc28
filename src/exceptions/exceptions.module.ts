import { Module } from '@nestjs/common';
import { ExceptionsController } from './exceptions.controller';
import { OperatorExceptionsService } from './operator-exceptions.service';

@Module({
  controllers: [ExceptionsController],
  providers: [OperatorExceptionsService],
  exports: [OperatorExceptionsService],
})
export class ExceptionsModule {}
