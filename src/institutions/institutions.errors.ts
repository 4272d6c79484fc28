import { defineErrors } from '../common/errors/domain.exception';
import { onConstraintViolation } from '../common/errors/database-errors';

export enum InstitutionErrorCode {
  INSTITUTION_NOT_FOUND = 'INSTITUTION_NOT_FOUND',
  INSTITUTION_LICENSE_EXISTS = 'INSTITUTION_LICENSE_EXISTS',
  BANK_ACCOUNT_ALREADY_REGISTERED = 'BANK_ACCOUNT_ALREADY_REGISTERED',
  BANK_ACCOUNTS_MUST_DIFFER = 'BANK_ACCOUNTS_MUST_DIFFER',
  INSTITUTION_CLOSED = 'INSTITUTION_CLOSED',
  INSTITUTION_NOT_ACTIVE = 'INSTITUTION_NOT_ACTIVE',
}

export const institutionError = defineErrors<InstitutionErrorCode>({
  INSTITUTION_NOT_FOUND: { status: 404, title: 'No such institution' },
  INSTITUTION_LICENSE_EXISTS: {
    status: 409,
    title: 'An institution with this licence is already registered',
  },
  BANK_ACCOUNT_ALREADY_REGISTERED: {
    status: 409,
    title: 'This bank account is already registered',
  },
  BANK_ACCOUNTS_MUST_DIFFER: {
    status: 422,
    title: 'Custody and settlement accounts must be different accounts',
  },
  INSTITUTION_CLOSED: { status: 409, title: 'The institution is closed for good' },
  INSTITUTION_NOT_ACTIVE: { status: 409, title: 'The institution is not active' },
});

onConstraintViolation('uq_institutions_license_no', () =>
  institutionError(
    InstitutionErrorCode.INSTITUTION_LICENSE_EXISTS,
    'An institution with this licence number is already registered; nothing was recorded.',
  ),
);
onConstraintViolation('uq_institution_bank_accounts_account_no', () =>
  institutionError(
    InstitutionErrorCode.BANK_ACCOUNT_ALREADY_REGISTERED,
    'One of the account numbers is already registered to an institution; nothing was recorded.',
  ),
);
