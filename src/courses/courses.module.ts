import { Module } from '@nestjs/common';
import { InstitutionsModule } from '../institutions/institutions.module';
import { CourseQueries } from './course.queries';
import { CoursesController } from './courses.controller';
import { CreateCourse } from './usecases/create-course.usecase';

@Module({
  imports: [InstitutionsModule],
  controllers: [CoursesController],
  providers: [CourseQueries, CreateCourse],
  exports: [CourseQueries],
})
export class CoursesModule {}
