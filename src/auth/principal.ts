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
