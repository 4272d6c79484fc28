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
import { binder } from '../database/binder';
import { OrderErrorCode, orderError } from '../orders/orders.errors';
import { orderScope } from '../orders/orders.service';
import { readVisibleLessons } from './lesson-scope';
import { DisputePageDto, LessonDto, LessonListDto, toLessonDto } from './lesson-view.dto';
import { LessonErrorCode, lessonError } from './lessons.errors';

@Injectable()
export class LessonsService {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async listLessons(principal: Principal, orderId: string): Promise<LessonListDto> {
    const { manager } = this.dataSource;
    const params: unknown[] = [];
    const bind = binder(params);
    const orders: unknown[] = await manager.query(
      `SELECT 1 FROM orders o WHERE o.id = ${bind(orderId)} AND ${orderScope(principal, bind)}`,
      params,
    );
    if (!orders.length) throw orderError(OrderErrorCode.ORDER_NOT_FOUND, `no order ${orderId}`);
    const rows = await readVisibleLessons(manager, principal, (bind) => ({
      where: `l.order_id = ${bind(orderId)}`,
      then: 'ORDER BY l.sequence',
    }));
    return { items: rows.map((row) => toLessonDto(row.lesson)) };
  }

  async getLesson(principal: Principal, lessonId: string): Promise<LessonDto> {
    const [row] = await readVisibleLessons(this.dataSource.manager, principal, (bind) => ({
      where: `l.id = ${bind(lessonId)}`,
    }));
    if (!row) throw lessonError(LessonErrorCode.LESSON_NOT_FOUND, `no lesson ${lessonId}`);
    return toLessonDto(row.lesson);
  }

  /** Open disputes the principal may see (their district), oldest first, a page at a time. */
  async listDisputes(principal: Principal, query: PageQueryDto): Promise<DisputePageDto> {
    const limit = query.limit ?? DEFAULT_PAGE_SIZE;
    const after = decodeCursor(query.cursor);
    const rows = await readVisibleLessons<{ id: string; cursor_time: string }>(
      this.dataSource.manager,
      principal,
      (bind) => {
        const conditions = ["l.status = 'disputed'"];
        if (after) {
          // A Date, not the cursor's text: PostgreSQL never sees a malformed time. disputed_at is
          // written from a JavaScript Date, so milliseconds are its full precision.
          conditions.push(
            `(l.disputed_at, l.id) > (${bind(new Date(after.createdAt))}::timestamptz, ${bind(after.id)}::uuid)`,
          );
        }
        return {
          where: conditions.join(' AND '),
          then: `ORDER BY l.disputed_at, l.id LIMIT ${bind(limit + 1)}`,
          select: `, ${cursorTimeSql('l.disputed_at')} AS cursor_time`,
        };
      },
    );
    return toPage(rows, limit, (row) => toLessonDto(row.lesson));
  }
}
