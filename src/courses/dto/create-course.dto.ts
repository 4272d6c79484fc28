import { ApiProperty } from '@nestjs/swagger';
import { IsIn, IsInt, Max, Min } from 'class-validator';
import { IsFen } from '../../common/validation/decorators';
import { IsIsoDate, IsOnOrAfter, IsTrimmedText } from '../../institutions/validation';
import { COURSE_CATEGORIES, CourseCategory } from '../course.entity';

export class CreateCourseDto {
  @IsTrimmedText(1, 200, { example: 'Grade 5 Mathematics' })
  title!: string;

  @ApiProperty({
    enum: COURSE_CATEGORIES,
    example: 'subject',
    description: 'Subject-type courses are held to the guided price cap of the district',
  })
  @IsIn(COURSE_CATEGORIES)
  category!: CourseCategory;

  @ApiProperty({ type: 'integer', minimum: 1, maximum: 500, example: 30 })
  @IsInt()
  @Min(1)
  @Max(500)
  lessonCount!: number;

  @ApiProperty({ type: 'integer', minimum: 10, maximum: 240, example: 45 })
  @IsInt()
  @Min(10)
  @Max(240)
  lessonMinutes!: number;

  @ApiProperty({ type: 'integer', minimum: 1, maximum: 500, example: 12, description: 'Pupils' })
  @IsInt()
  @Min(1)
  @Max(500)
  classSize!: number;

  @IsFen({ description: 'Price of one lesson for one pupil', example: 4500 })
  priceFen!: number;

  @IsIsoDate({ example: '2025-09-01' })
  startsOn!: string;

  @IsIsoDate({ example: '2025-12-31', description: 'On or after startsOn' })
  @IsOnOrAfter('startsOn')
  endsOn!: string;
}
