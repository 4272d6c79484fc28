/**
 * Reads of the course catalogue, scoped in SQL through the owning institution: parents see every
 * institution's courses, institution staff their own, auditors and operators their district's.
 */
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { AuthErrorCode, authError } from '../auth/auth.errors';
import type { Principal } from '../auth/principal';
import { toFen } from '../common/money/fen';
import { binder } from '../database/binder';
import { InstitutionQueries, institutionScope } from '../institutions/institution.queries';
import {
  DEFAULT_PAGE_SIZE,
  Page,
  PageQueryDto,
  cursorTimeSql,
  toPage,
} from '../common/pagination/cursor';
import { decodeCursor } from '../common/pagination/cursor';
import { CourseCategory } from './course.entity';
import { CourseErrorCode, courseError } from './courses.errors';
import { CourseDto } from './dto/course.dto';

interface CourseRow {
  id: string;
  institution_id: string;
  title: string;
  category: CourseCategory;
  lesson_count: number;
  lesson_minutes: number;
  class_size: number;
  price_fen: string;
  starts_on: string;
  ends_on: string;
  created_at: Date;
  cursor_time: string;
}

// Dates as text: node-postgres would turn a `date` into a local-time Date.
const SELECT_COURSES = `
  SELECT c.id, c.institution_id, c.title, c.category, c.lesson_count, c.lesson_minutes,
         c.class_size, c.price_fen, c.starts_on::text AS starts_on, c.ends_on::text AS ends_on,
         c.created_at, ${cursorTimeSql('c.created_at')} AS cursor_time
  FROM courses c
  JOIN institutions i ON i.id = c.institution_id`;

function toDto(row: CourseRow): CourseDto {
  return {
    id: row.id,
    institutionId: row.institution_id,
    title: row.title,
    category: row.category,
    lessonCount: row.lesson_count,
    lessonMinutes: row.lesson_minutes,
    classSize: row.class_size,
    priceFen: toFen(row.price_fen),
    startsOn: row.starts_on,
    endsOn: row.ends_on,
    createdAt: row.created_at.toISOString(),
  };
}

@Injectable()
export class CourseQueries {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly institutions: InstitutionQueries,
  ) {}

  getCourse(principal: Principal, id: string): Promise<CourseDto> {
    return this.view(this.dataSource.manager, principal, id);
  }

  async view(manager: EntityManager, principal: Principal, id: string): Promise<CourseDto> {
    const params: unknown[] = [];
    const bind = binder(params);
    const rows: CourseRow[] = await manager.query(
      `${SELECT_COURSES} WHERE c.id = ${bind(id)} AND ${institutionScope(principal, bind)}`,
      params,
    );
    if (rows.length === 0) {
      throw courseError(
        CourseErrorCode.COURSE_NOT_FOUND,
        `course ${id} does not exist or is outside your scope`,
      );
    }
    return toDto(rows[0]);
  }

  /** An institution's courses, oldest first. */
  async listCourses(
    principal: Principal,
    institutionId: string,
    query: PageQueryDto,
  ): Promise<Page<CourseDto>> {
    if (principal.role === 'institution' && principal.institutionId !== institutionId) {
      throw authError(AuthErrorCode.FORBIDDEN_SCOPE, 'institution staff see their own courses');
    }
    const after = decodeCursor(query.cursor);
    const limit = query.limit ?? DEFAULT_PAGE_SIZE;
    // An institution outside the scope is not found, rather than shown without courses.
    await this.institutions.assertVisible(principal, institutionId);
    const params: unknown[] = [];
    const bind = binder(params);
    const conditions = [
      `c.institution_id = ${bind(institutionId)}`,
      institutionScope(principal, bind),
    ];
    if (after) {
      conditions.push(
        `(c.created_at, c.id) > (${bind(after.createdAt)}::timestamptz, ${bind(after.id)}::uuid)`,
      );
    }
    const rows: CourseRow[] = await this.dataSource.query(
      `${SELECT_COURSES} WHERE ${conditions.join(' AND ')}
       ORDER BY c.created_at, c.id LIMIT ${bind(limit + 1)}`,
      params,
    );
    return toPage(rows, limit, toDto);
  }
}
