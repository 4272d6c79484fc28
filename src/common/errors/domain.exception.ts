/**
 * Every error the service answers with is a DomainException: a stable machine `code`, the HTTP
 * status, a short title and a detail that a person understands. Features declare their codes in a
 * table (see ledger.errors.ts) and throw through it; the problem-details filter renders them.
 */
export interface ErrorSpec {
  status: number;
  title: string;
}

export interface FieldError {
  field: string;
  message: string;
}

export class DomainException extends Error {
  constructor(
    readonly code: string,
    readonly status: number,
    readonly title: string,
    readonly detail: string,
    readonly extensions: { errors?: FieldError[] } & Record<string, unknown> = {},
  ) {
    super(`${code}: ${detail}`);
  }
}

/** Declares a feature's error codes once; returns a function that builds its exceptions. */
export function defineErrors<C extends string>(specs: Record<C, ErrorSpec>) {
  return (code: C, detail: string, extensions?: Record<string, unknown>) =>
    new DomainException(code, specs[code].status, specs[code].title, detail, extensions);
}

export enum CommonErrorCode {
  VALIDATION_FAILED = 'VALIDATION_FAILED',
  UNAUTHENTICATED = 'UNAUTHENTICATED',
  FORBIDDEN_ROLE = 'FORBIDDEN_ROLE',
  FORBIDDEN_SCOPE = 'FORBIDDEN_SCOPE',
  NOT_FOUND = 'NOT_FOUND',
  METHOD_NOT_ALLOWED = 'METHOD_NOT_ALLOWED',
  CONFLICT = 'CONFLICT',
  CONCURRENT_UPDATE = 'CONCURRENT_UPDATE',
  IDEMPOTENCY_KEY_REUSED = 'IDEMPOTENCY_KEY_REUSED',
  PAYLOAD_TOO_LARGE = 'PAYLOAD_TOO_LARGE',
  UNSUPPORTED_MEDIA_TYPE = 'UNSUPPORTED_MEDIA_TYPE',
  URI_TOO_LONG = 'URI_TOO_LONG',
  INTERNAL_ERROR = 'INTERNAL_ERROR',
  SERVICE_UNAVAILABLE = 'SERVICE_UNAVAILABLE',
}

export const commonError = defineErrors<CommonErrorCode>({
  VALIDATION_FAILED: { status: 400, title: 'The request is not valid' },
  UNAUTHENTICATED: { status: 401, title: 'Authentication required' },
  FORBIDDEN_ROLE: { status: 403, title: 'Your role may not do this' },
  FORBIDDEN_SCOPE: { status: 403, title: 'Outside your scope' },
  NOT_FOUND: { status: 404, title: 'Not found' },
  METHOD_NOT_ALLOWED: { status: 405, title: 'Method not allowed' },
  CONFLICT: { status: 409, title: 'Conflicts with existing data' },
  CONCURRENT_UPDATE: { status: 409, title: 'Changed concurrently, retry' },
  IDEMPOTENCY_KEY_REUSED: { status: 409, title: 'Idempotency key reused with another request' },
  PAYLOAD_TOO_LARGE: { status: 413, title: 'Request body too large' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'Unsupported media type' },
  URI_TOO_LONG: { status: 414, title: 'URI too long' },
  INTERNAL_ERROR: { status: 500, title: 'Internal error' },
  SERVICE_UNAVAILABLE: { status: 503, title: 'Service unavailable' },
});

export const validationFailed = (errors: FieldError[], detail?: string) =>
  commonError(
    CommonErrorCode.VALIDATION_FAILED,
    detail ?? errors.map((e) => `${e.field}: ${e.message}`).join('; '),
    { errors },
  );
