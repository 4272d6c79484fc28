export const ROLES = ['parent', 'institution', 'auditor', 'operator'] as const;
export type Role = (typeof ROLES)[number];

/** Who a request acts for, read from a verified token and nothing else. */
export interface Principal {
  sub: string;
  role: Role;
  /** Institution staff only. */
  institutionId?: string;
  /** Every role but parent (parents are scoped by `sub`). */
  districtId?: string;
}

export type StaffPrincipal = Principal & { districtId: string };
export type InstitutionPrincipal = StaffPrincipal & { role: 'institution'; institutionId: string };

/** Where a request carries the principal its guard verified. */
export interface WithPrincipal {
  principal?: Principal;
}

/**
 * Records the verified principal on the framework's request, which handlers read, and on the
 * server's own request beneath it, which middleware sees (the audit trail records it).
 */
export function attachPrincipal(request: { raw?: object }, principal: Principal): void {
  (request as WithPrincipal).principal = principal;
  if (request.raw) (request.raw as WithPrincipal).principal = principal;
}
