import { Injectable } from '@nestjs/common';
import type { Principal } from '../../auth/principal';
import {
  IdempotencyService,
  IdempotentRequest,
} from '../../common/idempotency/idempotency.service';
import { LessonLedger } from '../lesson-ledger';
import { lockLesson } from '../lesson-scope';
import { LessonDto, toLessonDto } from '../lesson-view.dto';
import { Lesson } from '../lesson.entity';
import type { DisputeOutcome } from '../lesson.dto';
import { LessonErrorCode, lessonError } from '../lessons.errors';

export interface ResolveDisputeCommand {
  principal: Principal;
  idempotency?: IdempotentRequest;
  lessonId: string;
  outcome: DisputeOutcome;
  note: string;
}

/**
 * An operator of the lesson's district decides a dispute: `release` pays the held fee to the
 * institution, `refund` voids the hold so that the fee is refundable to the parent again.
 */
@Injectable()
export class ResolveDispute {
  constructor(
    private readonly idempotency: IdempotencyService,
    private readonly lessonLedger: LessonLedger,
  ) {}

  execute(command: ResolveDisputeCommand): Promise<LessonDto> {
    return this.idempotency.execute(command.idempotency, async (manager) => {
      const lesson = await lockLesson(manager, command.lessonId, command.principal);
      if (lesson.status !== 'disputed') {
        throw lessonError(
          LessonErrorCode.LESSON_NOT_DISPUTED,
          `lesson ${lesson.id} is ${lesson.status}, not disputed`,
        );
      }
      const release = command.outcome === 'release';
      const settleTransactionId = release
        ? await this.lessonLedger.release(manager, lesson)
        : await this.lessonLedger.refund(manager, lesson);
      const changes = {
        status: release ? ('released' as const) : ('refunded' as const),
        resolvedOutcome: command.outcome,
        resolvedBy: command.principal.sub,
        resolutionNote: command.note,
        resolvedAt: new Date(),
        settleTransactionId,
      };
      await manager.update(Lesson, { id: lesson.id }, changes);
      return toLessonDto(Object.assign(lesson, changes));
    });
  }
}
