import { defineErrors } from '../common/errors/domain.exception';

export enum AuthErrorCode {
  UNAUTHENTICATED = 'UNAUTHENTICATED',
  FORBIDDEN_ROLE = 'FORBIDDEN_ROLE',
  FORBIDDEN_SCOPE = 'FORBIDDEN_SCOPE',
}

export const authError = defineErrors<AuthErrorCode>({
  UNAUTHENTICATED: { status: 401, title: 'Authentication required' },
  FORBIDDEN_ROLE: { status: 403, title: 'Your role may not do this' },
  FORBIDDEN_SCOPE: { status: 403, title: 'Outside your scope' },
});
