import type { Principal } from './principal';

/** Columns (with their table alias) that say whose a row is. */
export interface OwnerColumns {
  /** The parent's `sub`; rows without one are never a parent's. */
  parent?: string;
  institution: string;
  district: string;
}

/**
 * The WHERE condition limiting rows to what the principal may see, with its value as `$1`: a
 * parent their own, institution staff their institution's, auditors and operators their district's.
 * Scoping lives in the query, so another principal's row is simply not found.
 */
export function principalScope(
  principal: Principal,
  columns: OwnerColumns,
): { where: string; key: string | null } {
  switch (principal.role) {
    case 'parent':
      return columns.parent
        ? { where: `${columns.parent} = $1`, key: principal.sub }
        : { where: 'false AND $1::text IS NULL', key: null };
    case 'institution':
      return { where: `${columns.institution} = $1::uuid`, key: principal.institutionId ?? null };
    case 'auditor':
    case 'operator':
      return { where: `${columns.district} = $1`, key: principal.districtId ?? null };
  }
}
