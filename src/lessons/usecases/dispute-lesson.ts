import { Injectable } from '@nestjs/common';
import type { Principal } from '../../auth/principal';
import {
  IdempotencyService,
  IdempotentRequest,
} from '../../common/idempotency/idempotency.service';
import { assertAwaitingConfirmation, lockLesson } from '../lesson-scope';
import { LessonDto, toLessonDto } from '../lesson-view.dto';
import { Lesson } from '../lesson.entity';

export interface DisputeLessonCommand {
  principal: Principal;
  idempotency?: IdempotentRequest;
  lessonId: string;
  reason: string;
}

/**
 * A parent disputes a delivered lesson of their own order. The fee stays held, and the lesson
 * leaves auto-confirmation, until an operator resolves the dispute (R-REL-05).
 */
@Injectable()
export class DisputeLesson {
  constructor(private readonly idempotency: IdempotencyService) {}

  execute(command: DisputeLessonCommand): Promise<LessonDto> {
    return this.idempotency.execute(command.idempotency, async (manager) => {
      const lesson = await lockLesson(manager, command.lessonId, command.principal);
      assertAwaitingConfirmation(lesson);
      const changes = {
        status: 'disputed' as const,
        disputeReason: command.reason,
        disputedAt: new Date(),
      };
      await manager.update(Lesson, { id: lesson.id }, changes);
      return toLessonDto(Object.assign(lesson, changes));
    });
  }
}
