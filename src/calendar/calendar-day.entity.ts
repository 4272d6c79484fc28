import { Column, Entity, PrimaryColumn } from 'typeorm';

export type CalendarDayKind = 'holiday' | 'workday';

/**
 * An exception to the Monday–Friday working week of a district: a public holiday, or a weekend
 * day worked to make up for one (China's 调休).
 */
@Entity('calendar_days')
export class CalendarDay {
  @PrimaryColumn('text')
  districtId!: string;

  /** ISO date (YYYY-MM-DD). */
  @PrimaryColumn('date')
  day!: string;

  @Column('text')
  kind!: CalendarDayKind;

  @Column('text', { nullable: true })
  note!: string | null;

  @Column('text')
  updatedBy!: string;

  @Column('timestamptz')
  updatedAt!: Date;
}
