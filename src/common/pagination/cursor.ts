/**
 * Cursor pagination over (created_at, id): stable under inserts, no OFFSET scans. The cursor is
 * opaque to clients (base64url JSON).
 */
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import { validationFailed } from '../errors/domain.exception';

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 200;

export class PageQueryDto {
  @IsOptional()
  @IsString()
  @MaxLength(200)
  @ApiPropertyOptional({ description: 'nextCursor of the previous page' })
  cursor?: string;

  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(MAX_PAGE_SIZE)
  @ApiPropertyOptional({ minimum: 1, maximum: MAX_PAGE_SIZE, default: DEFAULT_PAGE_SIZE })
  limit?: number;
}

export interface CursorPosition {
  createdAt: string;
  id: string;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const BIGINT_ID = /^[1-9][0-9]{0,18}$/;
const CURSOR_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

export type CursorKey = 'uuid' | 'bigint';

/**
 * SQL for a row's cursor time with PostgreSQL's full microsecond precision (a JavaScript Date
 * would round it to milliseconds and repeat rows across pages). Select it AS cursor_time.
 */
export const cursorTimeSql = (column: string) =>
  `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

export function encodeCursor(position: CursorPosition): string {
  return Buffer.from(JSON.stringify([position.createdAt, position.id])).toString('base64url');
}

/** A real instant in cursorTimeSql's format: 2030-02-30 is refused here, not by PostgreSQL. */
function isCursorTime(value: unknown): value is string {
  if (typeof value !== 'string' || !CURSOR_TIME.test(value)) return false;
  const date = new Date(value);
  return !Number.isNaN(date.getTime()) && date.toISOString().slice(0, 23) === value.slice(0, 23);
}

/** The position in a cursor this service issued; anything else is a 400 on `cursor`. */
export function decodeCursor(
  cursor: string | undefined,
  key: CursorKey = 'uuid',
): CursorPosition | undefined {
  if (cursor === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    parsed = undefined;
  }
  if (
    Array.isArray(parsed) &&
    parsed.length === 2 &&
    isCursorTime(parsed[0]) &&
    typeof parsed[1] === 'string' &&
    (key === 'uuid' ? UUID : BIGINT_ID).test(parsed[1])
  ) {
    return { createdAt: parsed[0], id: parsed[1] };
  }
  throw validationFailed([{ field: 'cursor', message: 'is not a cursor this service issued' }]);
}

/** `nextCursor` as page DTOs document it. */
export const NextCursorProperty = () =>
  ApiProperty({
    type: String,
    nullable: true,
    description: 'Pass as `cursor` to get the next page; null on the last page.',
    example: 'WyIyMDI1LTA5LTAxVDA4OjAwOjAwLjEyMzQ1NloiLCIzZjFjMmY5ZSJd',
  });

/** Rows fetched with `limit + 1` (each with its cursor_time): the page and the next cursor. */
export function toPage<R extends { cursor_time: string; id: string }, T>(
  rows: R[],
  limit: number,
  map: (row: R) => T,
): Page<T> {
  const more = rows.length > limit;
  const items = more ? rows.slice(0, limit) : rows;
  return {
    items: items.map(map),
    nextCursor: more
      ? encodeCursor({
          createdAt: items[items.length - 1].cursor_time,
          id: items[items.length - 1].id,
        })
      : null,
  };
}
