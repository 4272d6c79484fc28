import { ApiProperty } from '@nestjs/swagger';
import { LESSON_STATUSES, Lesson, LessonStatus } from './lesson.entity';
import { DISPUTE_OUTCOMES, DisputeOutcome } from './lesson.dto';

const ID_EXAMPLE = '3f1c2f9e-8a4b-4c55-9d7e-2b1a7c6d5e4f';

/** A lesson as every endpoint of this feature answers with it. */
export class LessonDto {
  @ApiProperty({ format: 'uuid', example: ID_EXAMPLE })
  id!: string;

  @ApiProperty({ format: 'uuid', example: '9b2d4c1a-6e3f-4a8b-b1c2-d3e4f5a6b7c8' })
  orderId!: string;

  @ApiProperty({ format: 'uuid', example: '5d6e7f80-1a2b-4c3d-8e9f-0a1b2c3d4e5f' })
  institutionId!: string;

  @ApiProperty({
    type: 'integer',
    minimum: 1,
    example: 3,
    description: "1-based; beyond the order's paid lessons a bonus lesson (fee 0)",
  })
  sequence!: number;

  @ApiProperty({ enum: LESSON_STATUSES, example: 'awaiting_confirmation' })
  status!: LessonStatus;

  @ApiProperty({ type: 'integer', minimum: 0, example: 4_000, description: 'integer fen' })
  feeFen!: number;

  @ApiProperty({ type: 'string', format: 'date-time', example: '2026-03-02T10:30:00.000Z' })
  deliveredAt!: Date;

  @ApiProperty({ type: 'string', nullable: true, example: 'Fractions, chapter 3' })
  note!: string | null;

  @ApiProperty({ example: 'staff-1', description: 'the institution staff member who recorded it' })
  recordedBy!: string;

  @ApiProperty({ type: 'string', format: 'date-time', example: '2026-03-02T11:00:00.000Z' })
  recordedAt!: Date;

  @ApiProperty({
    type: 'string',
    format: 'date-time',
    nullable: true,
    example: '2026-03-03T01:00:00.000Z',
    description: 'when the fee was released to the institution (confirmed or dispute released)',
  })
  releasedAt!: Date | null;

  @ApiProperty({
    type: 'string',
    format: 'date-time',
    nullable: true,
    example: '2026-03-03T01:00:00.000Z',
  })
  confirmedAt!: Date | null;

  @ApiProperty({
    type: 'string',
    nullable: true,
    example: 'parent-204311',
    description: "the parent's id, or `system` for an auto-confirmation",
  })
  confirmedBy!: string | null;

  @ApiProperty({
    type: 'string',
    nullable: true,
    example: 'autoConfirmWorkingDays=15',
    description: 'the district rule that confirmed the lesson automatically',
  })
  confirmationRule!: string | null;

  @ApiProperty({ type: 'integer', minimum: 1, maximum: 5, nullable: true, example: 5 })
  rating!: number | null;

  @ApiProperty({ type: 'string', nullable: true, example: 'Clear explanations.' })
  comment!: string | null;

  @ApiProperty({ type: 'string', nullable: true, example: 'The lesson ended after 20 minutes.' })
  disputeReason!: string | null;

  @ApiProperty({
    type: 'string',
    format: 'date-time',
    nullable: true,
    example: '2026-03-03T01:00:00.000Z',
  })
  disputedAt!: Date | null;

  @ApiProperty({ enum: DISPUTE_OUTCOMES, nullable: true, example: 'refund' })
  resolvedOutcome!: DisputeOutcome | null;

  @ApiProperty({ type: 'string', nullable: true, example: 'op-1' })
  resolvedBy!: string | null;

  @ApiProperty({
    type: 'string',
    nullable: true,
    example: 'Attendance record shows the lesson was cut short.',
  })
  resolutionNote!: string | null;

  @ApiProperty({
    type: 'string',
    format: 'date-time',
    nullable: true,
    example: '2026-03-05T03:00:00.000Z',
  })
  resolvedAt!: Date | null;
}

export class LessonListDto {
  @ApiProperty({ type: [LessonDto], description: 'ordered by sequence' })
  items!: LessonDto[];
}

export class DisputePageDto {
  @ApiProperty({ type: [LessonDto], description: 'open disputes, oldest first' })
  items!: LessonDto[];

  @ApiProperty({
    type: 'string',
    nullable: true,
    example: 'eyJhdCI6IjIwMjYtMDMtMDNUMDE6MDA6MDAuMDAwWiIsImlkIjoiLi4uIn0',
    description: 'pass as `cursor` for the next page; null on the last page',
  })
  nextCursor!: string | null;
}

function releasedAt(lesson: Lesson): Date | null {
  switch (lesson.status) {
    case 'confirmed':
    case 'auto_confirmed':
      return lesson.confirmedAt;
    case 'released':
      return lesson.resolvedAt;
    case 'awaiting_confirmation':
    case 'disputed':
    case 'refunded':
      return null;
  }
}

export function toLessonDto(lesson: Lesson): LessonDto {
  return {
    id: lesson.id,
    orderId: lesson.orderId,
    institutionId: lesson.institutionId,
    sequence: lesson.sequence,
    status: lesson.status,
    feeFen: lesson.feeFen,
    deliveredAt: lesson.deliveredAt,
    note: lesson.note,
    recordedBy: lesson.recordedBy,
    recordedAt: lesson.createdAt,
    releasedAt: releasedAt(lesson),
    confirmedAt: lesson.confirmedAt,
    confirmedBy: lesson.confirmedBy,
    confirmationRule: lesson.confirmationRule,
    rating: lesson.rating,
    comment: lesson.comment,
    disputeReason: lesson.disputeReason,
    disputedAt: lesson.disputedAt,
    resolvedOutcome: lesson.resolvedOutcome,
    resolvedBy: lesson.resolvedBy,
    resolutionNote: lesson.resolutionNote,
    resolvedAt: lesson.resolvedAt,
  };
}

/** A timestamptz as JSON.stringify writes a Date: in UTC, to the millisecond (both truncate). */
const isoSql = (value: string) =>
  `to_char(${value} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/**
 * toLessonDto in SQL, for a statement that stores a lesson's answer in the transaction that
 * writes the lesson: the select list of a lessons row `l`, whose row_to_json is the JSON of its
 * toLessonDto, to the character (the same names in the same order, times as JavaScript writes
 * them). The lessons' tests hold the two equal for every status. That holds for times in the
 * years 1 to 9999 (UTC): beyond, to_char and toISOString write years differently. A lesson's
 * times are recorded no later than now, and no earlier than its course's start date.
 */
export function lessonDtoSql(l: string): string {
  return `${l}.id, ${l}.order_id AS "orderId", ${l}.institution_id AS "institutionId",
    ${l}.sequence, ${l}.status, ${l}.fee_fen AS "feeFen",
    ${isoSql(`${l}.delivered_at`)} AS "deliveredAt", ${l}.note, ${l}.recorded_by AS "recordedBy",
    ${isoSql(`${l}.created_at`)} AS "recordedAt",
    ${isoSql(`CASE ${l}.status WHEN 'confirmed' THEN ${l}.confirmed_at
                WHEN 'auto_confirmed' THEN ${l}.confirmed_at
                WHEN 'released' THEN ${l}.resolved_at END`)} AS "releasedAt",
    ${isoSql(`${l}.confirmed_at`)} AS "confirmedAt", ${l}.confirmed_by AS "confirmedBy",
    ${l}.confirmation_rule AS "confirmationRule", ${l}.rating, ${l}.comment,
    ${l}.dispute_reason AS "disputeReason", ${isoSql(`${l}.disputed_at`)} AS "disputedAt",
    ${l}.resolved_outcome AS "resolvedOutcome", ${l}.resolved_by AS "resolvedBy",
    ${l}.resolution_note AS "resolutionNote", ${isoSql(`${l}.resolved_at`)} AS "resolvedAt"`;
}
