import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, IsNull, Not } from 'typeorm';
import { CalendarService } from '../../calendar/calendar.service';
import { chinaMidnight } from '../../calendar/dates';
import { chinaDate } from '../../common/time/china-date';
import { DistrictPolicy } from '../../institutions/entities/district-policy.entity';
import { lockLesson } from '../lesson-scope';
import { ConfirmLesson } from './confirm-lesson';

/** The most lessons one run confirms; the next run, ten minutes later, takes the rest. */
export const AUTO_CONFIRM_BATCH = 1_000;
export const SYSTEM_CONFIRMER = 'system';

export interface AutoConfirmSummary {
  /** Districts whose policy confirms automatically. */
  districts: number;
  confirmed: number;
  /** Confirmed or disputed by the parent between selection and lock. */
  skipped: number;
  failed: number;
}

/**
 * DESIGN.md rule 8 (R-REL-03): in a district whose policy sets `autoConfirmWorkingDays` = N, a
 * lesson neither confirmed nor disputed by the N-th working day after the day it was delivered and
 * recorded (the institution's request to confirm, R-REL-03; a late record restarts the clock) is
 * confirmed by the system on the next day, through the parent's confirmation path. A disputed
 * lesson is never awaiting confirmation, so its clock stands still (R-REL-05).
 */
@Injectable()
export class AutoConfirmLessons {
  private readonly logger = new Logger(AutoConfirmLessons.name);

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly calendar: CalendarService,
    private readonly confirmLesson: ConfirmLesson,
  ) {}

  async run(now = new Date(), limit = AUTO_CONFIRM_BATCH): Promise<AutoConfirmSummary> {
    const { manager } = this.dataSource;
    const today = chinaDate(now);
    const policies = await manager.find(DistrictPolicy, {
      select: { districtId: true, autoConfirmWorkingDays: true },
      where: { autoConfirmWorkingDays: Not(IsNull()) },
      order: { districtId: 'ASC' },
    });
    const summary: AutoConfirmSummary = {
      districts: policies.length,
      confirmed: 0,
      skipped: 0,
      failed: 0,
    };
    let budget = limit;
    for (const { districtId, autoConfirmWorkingDays: days } of policies) {
      if (budget <= 0) break;
      if (days === null) continue;
      // A lesson's deadline, the N-th working day after its delivery date, is before today
      // exactly when it was delivered before the N-th working day before today: one date per
      // district selects every overdue lesson at once.
      const overdueBefore = await this.calendar.subtractWorkingDays(
        manager,
        districtId,
        today,
        days,
      );
      // Through the district's institutions, so that ix_lessons_awaiting (institution_id,
      // delivered_at, awaiting only) finds the lessons.
      const due: { id: string }[] = await manager.query(
        `SELECT l.id FROM institutions i
         JOIN lessons l ON l.institution_id = i.id AND l.status = 'awaiting_confirmation'
         WHERE i.district_id = $1 AND l.delivered_at < $2 AND l.created_at < $2
         ORDER BY l.delivered_at, l.id
         LIMIT $3`,
        [districtId, chinaMidnight(overdueBefore), budget],
      );
      budget -= due.length;
      for (const { id } of due) {
        summary[await this.confirmOne(id, `autoConfirmWorkingDays=${days}`, now)] += 1;
      }
    }
    if (summary.confirmed || summary.failed) this.logger.log({ ...summary }, 'auto-confirmation');
    return summary;
  }

  /** One lesson in its own transaction, so that one failure does not hold back the others. */
  private async confirmOne(
    lessonId: string,
    rule: string,
    now: Date,
  ): Promise<'confirmed' | 'skipped' | 'failed'> {
    try {
      return await this.dataSource.transaction(async (manager) => {
        const lesson = await lockLesson(manager, lessonId);
        if (lesson.status !== 'awaiting_confirmation') return 'skipped';
        await this.confirmLesson.confirmLocked(manager, lesson, {
          status: 'auto_confirmed',
          by: SYSTEM_CONFIRMER,
          at: now,
          rule,
        });
        return 'confirmed';
      });
    } catch (error) {
      this.logger.error({ err: error, lessonId }, 'auto-confirmation of a lesson failed');
      return 'failed';
    }
  }
}
