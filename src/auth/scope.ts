import type { Bind } from '../database/binder';
import { AuthErrorCode, authError } from './auth.errors';
import type { Principal } from './principal';

/** The parent column of rows every parent may see (an institution, to check it before buying). */
export const EVERY_ROW = Symbol('every row');

/** Columns (with their table alias) that say whose a row is. */
export interface OwnerColumns {
  /** The parent's `sub`; without one, rows are never a parent's; EVERY_ROW, always. */
  parent?: string | typeof EVERY_ROW;
  institution: string;
  district: string;
}

/**
 * The SQL condition limiting rows to what the principal may see, its values bound with `bind`: a
 * parent their own, institution staff their institution's, auditors and operators their district's.
 * Scoping lives in the query, so another principal's row is simply not found. A principal missing
 * the claim its role needs binds NULL, which equals nothing: they see nothing. The text depends on
 * the role and the columns only, so a statement built from it may be prepared once per role.
 */
export function principalScope(principal: Principal, columns: OwnerColumns, bind: Bind): string {
  switch (principal.role) {
    case 'parent':
      return parentScope(principal.sub, columns.parent, bind);
    case 'institution':
      return `${columns.institution} = ${bind(principal.institutionId ?? null)}::uuid`;
    case 'auditor':
    case 'operator':
      return `${columns.district} = ${bind(principal.districtId ?? null)}`;
  }
}

function parentScope(sub: string, column: OwnerColumns['parent'], bind: Bind): string {
  if (column === EVERY_ROW) return 'TRUE';
  return column === undefined ? 'FALSE' : `${column} = ${bind(sub)}`;
}

/**
 * Staff of another district are refused: district-level resources exist in every district, so
 * this is a check on the path, not a condition in a query.
 */
export function assertDistrictScope(principal: Principal, districtId: string): void {
  if (principal.districtId === undefined || principal.districtId !== districtId) {
    throw authError(AuthErrorCode.FORBIDDEN_SCOPE, `district ${districtId} is outside your scope`);
  }
}
