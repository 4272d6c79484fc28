import { Module } from '@nestjs/common';
import { CalendarModule } from '../calendar/calendar.module';
import { InstitutionsModule } from '../institutions/institutions.module';
import { LedgerModule } from '../ledger/ledger.module';
import {
  AutoConfirmLessonsProcessor,
  AutoConfirmLessonsSchedule,
} from './auto-confirm-lessons.processor';
import { DisputesController } from './disputes.controller';
import { LessonLedger } from './lesson-ledger';
import { LessonsController } from './lessons.controller';
import { LessonsService } from './lessons.service';
import { AutoConfirmLessons } from './usecases/auto-confirm-lessons';
import { ConfirmLesson } from './usecases/confirm-lesson';
import { DisputeLesson } from './usecases/dispute-lesson';
import { RecordLesson } from './usecases/record-lesson';
import { ResolveDispute } from './usecases/resolve-dispute';

@Module({
  imports: [LedgerModule, CalendarModule, InstitutionsModule],
  controllers: [LessonsController, DisputesController],
  providers: [
    LessonLedger,
    LessonsService,
    RecordLesson,
    ConfirmLesson,
    DisputeLesson,
    ResolveDispute,
    AutoConfirmLessons,
    AutoConfirmLessonsProcessor,
    AutoConfirmLessonsSchedule,
  ],
})
export class LessonsModule {}
