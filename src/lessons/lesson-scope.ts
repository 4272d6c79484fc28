/**
 * What a principal may see of lessons, written into the queries themselves: a lesson is visible
 * through its order (parent: own orders; institution: own; auditor and operator: their district).
 */
import { EntityManager, SelectQueryBuilder } from 'typeorm';
import { AuthErrorCode, authError } from '../auth/auth.errors';
import type { Principal } from '../auth/principal';
import { Order } from '../orders/entities/order.entity';
import { Lesson } from './lesson.entity';
import { LessonErrorCode, lessonError } from './lessons.errors';

function claim(value: string | undefined, name: string): string {
  if (value === undefined) throw authError(AuthErrorCode.UNAUTHENTICATED, `token has no ${name}`);
  return value;
}

/** Restricts a query to the orders (alias `orderAlias`) the principal may see. */
export function whereOrderVisibleTo<T extends object>(
  query: SelectQueryBuilder<T>,
  orderAlias: string,
  principal: Principal,
): SelectQueryBuilder<T> {
  switch (principal.role) {
    case 'parent':
      return query.andWhere(`${orderAlias}.parentId = :scopeParentId`, {
        scopeParentId: principal.sub,
      });
    case 'institution':
      return query.andWhere(`${orderAlias}.institutionId = :scopeInstitutionId`, {
        scopeInstitutionId: claim(principal.institutionId, 'institutionId'),
      });
    case 'auditor':
    case 'operator':
      return query.andWhere(`${orderAlias}.districtId = :scopeDistrictId`, {
        scopeDistrictId: claim(principal.districtId, 'districtId'),
      });
  }
}

/** The lessons the principal may see, joined to their orders as `o`. */
export function visibleLessons(manager: EntityManager, principal: Principal) {
  const query = manager.createQueryBuilder(Lesson, 'l').innerJoin(Order, 'o', 'o.id = l.orderId');
  return whereOrderVisibleTo(query, 'o', principal);
}

/**
 * Locks a lesson row for an update (FOR UPDATE). With a principal the lesson must be theirs:
 * another's lesson is not found, never forbidden, so that its existence does not leak.
 */
export async function lockLesson(
  manager: EntityManager,
  lessonId: string,
  principal?: Principal,
): Promise<Lesson> {
  const query = principal
    ? visibleLessons(manager, principal)
    : manager.createQueryBuilder(Lesson, 'l');
  const lesson = await query
    .andWhere('l.id = :lessonId', { lessonId })
    .setLock('pessimistic_write', undefined, ['l'])
    .getOne();
  if (!lesson) throw lessonError(LessonErrorCode.LESSON_NOT_FOUND, `no lesson ${lessonId}`);
  return lesson;
}

/** Confirming or disputing needs a lesson awaiting confirmation; each other state has its code. */
export function assertAwaitingConfirmation(lesson: Lesson): void {
  switch (lesson.status) {
    case 'awaiting_confirmation':
      return;
    case 'confirmed':
    case 'auto_confirmed':
    case 'released':
      throw lessonError(
        LessonErrorCode.LESSON_ALREADY_CONFIRMED,
        `lesson ${lesson.id} is already ${lesson.status}`,
      );
    case 'disputed':
      throw lessonError(
        LessonErrorCode.LESSON_DISPUTED,
        `lesson ${lesson.id} is disputed and waits for an operator`,
      );
    case 'refunded':
      throw lessonError(LessonErrorCode.LESSON_REFUNDED, `lesson ${lesson.id} was refunded`);
  }
}
