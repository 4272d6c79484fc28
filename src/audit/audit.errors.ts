import { defineErrors } from '../common/errors/domain.exception';

export enum AuditErrorCode {
  INSTITUTION_NOT_FOUND = 'INSTITUTION_NOT_FOUND',
  ORDER_NOT_FOUND = 'ORDER_NOT_FOUND',
}

/** Ids outside the auditor's district answer 404, exactly as ids that do not exist. */
export const auditError = defineErrors<AuditErrorCode>({
  INSTITUTION_NOT_FOUND: { status: 404, title: 'Institution not found' },
  ORDER_NOT_FOUND: { status: 404, title: 'Order not found' },
});
