import { AuthErrorCode, authError } from '../auth/auth.errors';
import type { Principal } from '../auth/principal';

/** Appends a value to a positional parameter list and returns its placeholder (`$3`). */
export type Bind = (value: unknown) => string;

export function binder(params: unknown[]): Bind {
  return (value) => {
    params.push(value);
    return `$${params.length}`;
  };
}

/**
 * The SQL condition that limits institutions (table alias `alias`) to what the principal may see:
 * a parent any institution (to check its custody account before buying), institution staff their
 * own, auditors and operators their district. A principal missing the claim its role needs binds
 * NULL and sees nothing.
 */
export function institutionScopeSql(principal: Principal, bind: Bind, alias = 'i'): string {
  switch (principal.role) {
    case 'parent':
      return 'TRUE';
    case 'institution':
      return `${alias}.id = ${bind(principal.institutionId ?? null)}`;
    case 'auditor':
    case 'operator':
      return `${alias}.district_id = ${bind(principal.districtId ?? null)}`;
  }
}

/** Staff of another district are refused: district-level resources exist in every district. */
export function assertDistrictScope(principal: Principal, districtId: string): void {
  if (principal.districtId === undefined || principal.districtId !== districtId) {
    throw authError(AuthErrorCode.FORBIDDEN_SCOPE, `district ${districtId} is outside your scope`);
  }
}
