import { Injectable } from '@nestjs/common';
import { AuthErrorCode, authError } from '../../auth/auth.errors';
import type { Principal } from '../../auth/principal';
import {
  IdempotencyService,
  IdempotentRequest,
} from '../../common/idempotency/idempotency.service';
import { DistrictPolicyService } from '../../institutions/district-policy.service';
import { InstitutionQueries } from '../../institutions/institution.queries';
import { InstitutionErrorCode, institutionError } from '../../institutions/institutions.errors';
import { Course } from '../course.entity';
import { CourseQueries } from '../course.queries';
import { CourseErrorCode, courseError } from '../courses.errors';
import { CourseDto } from '../dto/course.dto';
import { CreateCourseDto } from '../dto/create-course.dto';
import { guidedPriceCapFen } from '../guided-price-cap';

export interface CreateCourseCommand {
  /** Institution staff: the course belongs to principal.institutionId. */
  principal: Principal;
  idempotency?: IdempotentRequest;
  course: CreateCourseDto;
}

/**
 * Adds a course to an active institution's catalogue. A subject-type course may not be priced
 * above the guided price cap of the institution's district, by the policy in force now.
 */
@Injectable()
export class CreateCourse {
  constructor(
    private readonly idempotency: IdempotencyService,
    private readonly institutions: InstitutionQueries,
    private readonly policies: DistrictPolicyService,
    private readonly courses: CourseQueries,
  ) {}

  execute(command: CreateCourseCommand): Promise<CourseDto> {
    const { principal, course } = command;
    const institutionId = principal.institutionId;
    if (institutionId === undefined) {
      throw authError(AuthErrorCode.FORBIDDEN_SCOPE, 'only institution staff add courses');
    }
    return this.idempotency.execute(command.idempotency, async (manager) => {
      // FOR SHARE: a suspension waits for this course to commit, or this sees the suspension.
      const institution = await this.institutions.lock(manager, principal, institutionId, 'share');
      if (institution.status !== 'active') {
        throw institutionError(
          InstitutionErrorCode.INSTITUTION_NOT_ACTIVE,
          `the institution is ${institution.status}; it cannot add courses`,
        );
      }
      if (course.category === 'subject') {
        const policy = await this.policies.get(manager, institution.districtId);
        const capFen = guidedPriceCapFen(policy, course.classSize, course.lessonMinutes);
        if (course.priceFen > capFen) {
          throw courseError(
            CourseErrorCode.COURSE_PRICE_ABOVE_CAP,
            `a subject course of ${course.classSize} pupils and ${course.lessonMinutes}-minute ` +
              `lessons may cost at most ${capFen} fen per lesson`,
            { capFen, priceFen: course.priceFen, policyVersion: policy.version },
          );
        }
      }
      const inserted = await manager.insert(Course, {
        institutionId,
        title: course.title,
        category: course.category,
        lessonCount: course.lessonCount,
        lessonMinutes: course.lessonMinutes,
        classSize: course.classSize,
        priceFen: course.priceFen,
        startsOn: course.startsOn,
        endsOn: course.endsOn,
        createdBy: principal.sub,
      });
      return this.courses.view(manager, principal, (inserted.identifiers[0] as { id: string }).id);
    });
  }
}
