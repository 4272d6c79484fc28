import { defineErrors } from '../common/errors/domain.exception';

export enum CourseErrorCode {
  COURSE_NOT_FOUND = 'COURSE_NOT_FOUND',
  COURSE_PRICE_ABOVE_CAP = 'COURSE_PRICE_ABOVE_CAP',
}

export const courseError = defineErrors<CourseErrorCode>({
  COURSE_NOT_FOUND: { status: 404, title: 'No such course' },
  COURSE_PRICE_ABOVE_CAP: {
    status: 422,
    title: 'The price is above the guided price cap of the district',
  },
});
