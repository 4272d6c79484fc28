/**
 * What a principal may see of lessons, written into the queries themselves: a lesson is visible
 * through its order (parent: own orders; institution: own; auditor and operator: their district).
 */
import { EntityManager } from 'typeorm';
import type { Principal } from '../auth/principal';
import { Bind, binder } from '../database/binder';
import { queryPrepared } from '../database/query-prepared';
import { orderScope } from '../orders/orders.service';
import { Lesson } from './lesson.entity';
import { LessonErrorCode, lessonError } from './lessons.errors';

const lessonColumns = (manager: EntityManager) =>
  manager.connection
    .getMetadata(Lesson)
    .columns.map((column) => `l.${column.databaseName}`)
    .join(', ');

/**
 * The lock statements (one per role, one without a principal) and the read of parents' batches,
 * each built once from the entity metadata.
 */
const builtStatements = new Map<string, string>();

function lockStatement(
  manager: EntityManager,
  name: string,
  scope: string | undefined,
  lessonId: string,
): string {
  let text = builtStatements.get(name);
  if (text === undefined) {
    text = scope
      ? `SELECT ${lessonColumns(manager)} FROM lessons l JOIN orders o ON o.id = l.order_id
         WHERE ${scope} AND l.id = ${lessonId} FOR UPDATE OF l`
      : `SELECT ${lessonColumns(manager)} FROM lessons l WHERE l.id = ${lessonId} FOR UPDATE OF l`;
    builtStatements.set(name, text);
  }
  return text;
}

/** A Lesson from a row of `lessons`, with TypeORM's conversions (fen transformer, dates). */
function lessonFromRow(manager: EntityManager, row: Record<string, unknown>): Lesson {
  const { driver } = manager.connection;
  const lesson = new Lesson();
  for (const column of manager.connection.getMetadata(Lesson).columns) {
    column.setEntityValue(lesson, driver.prepareHydratedValue(row[column.databaseName], column));
  }
  return lesson;
}

/** What readVisibleLessons asks for, beyond the principal's scope. */
export interface LessonQuery {
  /** A condition on `l` (and `o`), bracketed so that it can only narrow the scope. */
  where: string;
  /** ORDER BY, LIMIT and the like. */
  then?: string;
  /** Columns added to each row (`, expr AS name`), next to its Lesson. */
  select?: string;
}

/**
 * The lessons (`l`) the principal may see through their orders (`o`), as `query` asks; its values
 * are bound with the same `bind` as the scope's.
 */
export async function readVisibleLessons<R extends object = object>(
  manager: EntityManager,
  principal: Principal,
  query: (bind: Bind) => LessonQuery,
): Promise<(R & { lesson: Lesson })[]> {
  const params: unknown[] = [];
  const bind = binder(params);
  const scope = orderScope(principal, bind);
  const { where, then = '', select = '' } = query(bind);
  const rows: (R & Record<string, unknown>)[] = await manager.query(
    `SELECT ${lessonColumns(manager)}${select} FROM lessons l JOIN orders o ON o.id = l.order_id
     WHERE ${scope} AND (${where}) ${then}`,
    params,
  );
  return rows.map((row) => ({ ...row, lesson: lessonFromRow(manager, row) }));
}

/**
 * Locks a lesson row for an update (FOR UPDATE). With a principal the lesson must be theirs:
 * another's lesson is not found, never forbidden, so that its existence does not leak. A prepared
 * statement in raw SQL: it locks for every lesson command (parents' confirmations in batches use
 * readParentLessons).
 */
export async function lockLesson(
  manager: EntityManager,
  lessonId: string,
  principal?: Principal,
): Promise<Lesson> {
  const params: unknown[] = [];
  const bind = binder(params);
  const scope = principal ? orderScope(principal, bind) : undefined;
  const name = `lessons.lock.${principal?.role ?? 'any'}`;
  const rows = await queryPrepared<Record<string, unknown>[]>(
    manager,
    name,
    lockStatement(manager, name, scope, bind(lessonId)),
    params,
  );
  if (!rows.length) throw lessonError(LessonErrorCode.LESSON_NOT_FOUND, `no lesson ${lessonId}`);
  return lessonFromRow(manager, rows[0]);
}

/** A parent's lesson in a batch: `lessonId/parentId`. */
export const parentLessonKey = (lessonId: string, parentId: string) => `${lessonId}/${parentId}`;

/**
 * Many parents' lessons at once, each only if it is that parent's, without locking them. Returns
 * them by parentLessonKey: a lesson asked for by two parents is found only under its own.
 */
export async function readParentLessons(
  manager: EntityManager,
  requests: { lessonId: string; parentId: string }[],
): Promise<Map<string, Lesson>> {
  if (requests.length === 0) return new Map();
  const name = 'lessons.read.parents';
  let text = builtStatements.get(name);
  if (text === undefined) {
    text = `SELECT ${lessonColumns(manager)}, r.parent_id AS requested_by
      FROM unnest($1::uuid[], $2::text[]) AS r(lesson_id, parent_id)
      JOIN lessons l ON l.id = r.lesson_id
      JOIN orders o ON o.id = l.order_id AND o.parent_id = r.parent_id`;
    builtStatements.set(name, text);
  }
  const rows = await queryPrepared<Record<string, unknown>[]>(manager, name, text, [
    requests.map((request) => request.lessonId),
    requests.map((request) => request.parentId),
  ]);
  return new Map(
    rows.map((row) => {
      const lesson = lessonFromRow(manager, row);
      return [parentLessonKey(lesson.id, row.requested_by as string), lesson];
    }),
  );
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
