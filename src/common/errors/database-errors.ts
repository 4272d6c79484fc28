/**
 * Turns PostgreSQL errors into domain errors. A unique violation is a conflict with a meaningful
 * code, never a 500; features register what their named constraints mean.
 */
import { QueryFailedError } from 'typeorm';
import {
  CommonErrorCode,
  DomainException,
  commonError,
  validationFailed,
} from './domain.exception';

export interface PgError {
  code?: string;
  constraint?: string;
  detail?: string;
}

const constraintErrors = new Map<string, () => DomainException>();

/** Registers the domain error raised when the named constraint is violated. */
export function onConstraintViolation(constraint: string, error: () => DomainException): void {
  constraintErrors.set(constraint, error);
}

export function pgErrorOf(error: unknown): PgError | undefined {
  if (error instanceof QueryFailedError) return error.driverError as PgError;
  if (error && typeof error === 'object' && 'code' in error && 'severity' in error) {
    return error as PgError;
  }
  return undefined;
}

export function isConstraintViolation(error: unknown, constraint: string): boolean {
  return pgErrorOf(error)?.constraint === constraint;
}

/** The domain error for a database error, or undefined when it is not one we can explain. */
export function domainErrorFromDatabase(error: unknown): DomainException | undefined {
  const pg = pgErrorOf(error);
  if (!pg) return undefined;
  const registered = pg.constraint ? constraintErrors.get(pg.constraint) : undefined;
  if (registered) return registered();
  if (pg.code?.startsWith('22')) {
    // A data exception (value out of range, invalid text for a type): bad input, not our fault.
    return validationFailed([{ field: 'body', message: 'a value is out of range or malformed' }]);
  }
  switch (pg.code ?? '') {
    case '23505':
      return commonError(
        CommonErrorCode.CONFLICT,
        'A record with the same identity already exists.',
        {
          constraint: pg.constraint,
        },
      );
    case '40001':
    case '40P01':
    case '55P03':
      return commonError(
        CommonErrorCode.CONCURRENT_UPDATE,
        'The data changed while this request ran; retry it.',
      );
    default:
      return undefined;
  }
}
