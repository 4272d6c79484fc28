import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { fenTransformer } from '../common/money/fen';

export const COURSE_CATEGORIES = ['subject', 'non_subject'] as const;
export type CourseCategory = (typeof COURSE_CATEGORIES)[number];

@Entity('courses')
export class Course {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column('uuid')
  institutionId!: string;

  @Column('text')
  title!: string;

  @Column('text')
  category!: CourseCategory;

  @Column('int')
  lessonCount!: number;

  @Column('int')
  lessonMinutes!: number;

  @Column('int')
  classSize!: number;

  /** Per lesson. */
  @Column('bigint', { transformer: fenTransformer })
  priceFen!: number;

  /** ISO date (YYYY-MM-DD). */
  @Column('date')
  startsOn!: string;

  @Column('date')
  endsOn!: string;

  @Column('text')
  createdBy!: string;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt!: Date;
}
