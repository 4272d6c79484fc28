import { ApiProperty } from '@nestjs/swagger';
import { IsId } from '../../common/validation/decorators';
import { Page, PageQueryDto } from '../../common/pagination/cursor';
import { NextCursorProperty } from '../../common/pagination/cursor';
import { COURSE_CATEGORIES, CourseCategory } from '../course.entity';

export class CourseDto {
  @ApiProperty({ format: 'uuid', example: '9b2d7c1e-4f3a-4e8b-a1c2-d3e4f5a6b7c8' })
  id!: string;

  @ApiProperty({ format: 'uuid', example: '3f1c2f9e-8a4b-4c55-9d7e-2b1a7c6d5e4f' })
  institutionId!: string;

  @ApiProperty({ example: 'Grade 5 Mathematics' })
  title!: string;

  @ApiProperty({ enum: COURSE_CATEGORIES, example: 'subject' })
  category!: CourseCategory;

  @ApiProperty({ type: 'integer', example: 30 })
  lessonCount!: number;

  @ApiProperty({ type: 'integer', example: 45 })
  lessonMinutes!: number;

  @ApiProperty({ type: 'integer', example: 12 })
  classSize!: number;

  @ApiProperty({ type: 'integer', example: 4500, description: 'Per lesson, integer fen' })
  priceFen!: number;

  @ApiProperty({ format: 'date', example: '2025-09-01' })
  startsOn!: string;

  @ApiProperty({ format: 'date', example: '2025-12-31' })
  endsOn!: string;

  @ApiProperty({ format: 'date-time', example: '2025-08-20T08:00:00.000Z' })
  createdAt!: string;
}

export class CoursePageDto implements Page<CourseDto> {
  @ApiProperty({ type: [CourseDto] })
  items!: CourseDto[];

  @NextCursorProperty()
  nextCursor!: string | null;
}

export class ListCoursesQuery extends PageQueryDto {
  @IsId({ description: 'Whose courses' })
  institutionId!: string;
}
