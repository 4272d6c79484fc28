/** Reads of lessons and disputes, each scoped to the principal in its query. */
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { Principal } from '../auth/principal';
import {
  DEFAULT_PAGE_SIZE,
  PageQueryDto,
  cursorTimeSql,
  decodeCursor,
  toPage,
} from '../common/pagination/cursor';
import { Order } from '../orders/entities/order.entity';
import { OrderErrorCode, orderError } from '../orders/orders.errors';
import { visibleLessons, whereOrderVisibleTo } from './lesson-scope';
import { DisputePageDto, LessonDto, LessonListDto, toLessonDto } from './lesson-view.dto';
import { LessonErrorCode, lessonError } from './lessons.errors';

@Injectable()
export class LessonsService {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async listLessons(principal: Principal, orderId: string): Promise<LessonListDto> {
    const { manager } = this.dataSource;
    const order = await whereOrderVisibleTo(
      manager.createQueryBuilder(Order, 'o').select('o.id').where('o.id = :orderId', { orderId }),
      'o',
      principal,
    ).getOne();
    if (!order) throw orderError(OrderErrorCode.ORDER_NOT_FOUND, `no order ${orderId}`);
    const lessons = await visibleLessons(manager, principal)
      .andWhere('l.orderId = :orderId', { orderId })
      .orderBy('l.sequence', 'ASC')
      .getMany();
    return { items: lessons.map(toLessonDto) };
  }

  async getLesson(principal: Principal, lessonId: string): Promise<LessonDto> {
    const lesson = await visibleLessons(this.dataSource.manager, principal)
      .andWhere('l.id = :lessonId', { lessonId })
      .getOne();
    if (!lesson) throw lessonError(LessonErrorCode.LESSON_NOT_FOUND, `no lesson ${lessonId}`);
    return toLessonDto(lesson);
  }

  /** Open disputes the principal may see (their district), oldest first, a page at a time. */
  async listDisputes(principal: Principal, query: PageQueryDto): Promise<DisputePageDto> {
    const limit = query.limit ?? DEFAULT_PAGE_SIZE;
    const after = decodeCursor(query.cursor);
    const select = visibleLessons(this.dataSource.manager, principal)
      .andWhere("l.status = 'disputed'")
      .addSelect(cursorTimeSql('l.disputed_at'), 'cursor_time');
    if (after) {
      // A Date, not the cursor's text: PostgreSQL never sees a malformed time. disputed_at is
      // written from a JavaScript Date, so milliseconds are its full precision.
      select.andWhere('(l.disputedAt, l.id) > (:afterAt, :afterId)', {
        afterAt: new Date(after.createdAt),
        afterId: after.id,
      });
    }
    const { entities, raw } = await select
      .orderBy('l.disputedAt', 'ASC')
      .addOrderBy('l.id', 'ASC')
      .limit(limit + 1)
      .getRawAndEntities<{ cursor_time: string }>();
    const rows = entities.map((lesson, i) => ({ lesson, id: lesson.id, ...raw[i] }));
    return toPage(rows, limit, (row) => toLessonDto(row.lesson));
  }
}
