/**
 * Audit reads are scoped to the principal's district in SQL: every query takes the district as a
 * parameter, and ids of another district are answered as unknown.
 */
import { AuthErrorCode, authError } from '../auth/auth.errors';
import type { Principal } from '../auth/principal';
import { validationFailed } from '../common/errors/domain.exception';

export function districtOf(principal: Principal): string {
  if (!principal.districtId) {
    throw authError(AuthErrorCode.FORBIDDEN_SCOPE, 'the token names no district');
  }
  return principal.districtId;
}

/** Clock skew we forgive before calling an instant "in the future". */
const FUTURE_TOLERANCE_MS = 60_000;

/** Refuses instants that have not happened yet: the books cannot answer for them. */
export function assertNotFuture(field: string, instant: string | undefined): void {
  if (instant !== undefined && Date.parse(instant) > Date.now() + FUTURE_TOLERANCE_MS) {
    throw validationFailed([{ field, message: 'must not be in the future' }]);
  }
}

/** Refuses a range whose end is before its start. */
export function assertRange(from: string | undefined, to: string | undefined): void {
  if (from !== undefined && to !== undefined && Date.parse(from) > Date.parse(to)) {
    throw validationFailed([{ field: 'to', message: 'must not be before from' }]);
  }
}

/** PostgreSQL bigint (text) to a safe integer, for counts, sequence numbers and versions. */
export function safeInteger(value: string | number): number {
  const number = typeof value === 'number' ? value : Number(value);
  if (!Number.isSafeInteger(number)) throw new RangeError(`not a safe integer: ${value}`);
  return number;
}
