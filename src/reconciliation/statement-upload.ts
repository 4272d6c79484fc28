/**
 * Receiving a statement file over HTTP: XML or CSV, read as bytes (size-limited, never
 * decompressed, kept for the bank signature: see configureApp), from either the bank (HMAC, as
 * for notifications) or an operator (JWT).
 */
import { CanActivate, ExecutionContext, Inject, Injectable, NestMiddleware } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type { IncomingMessage } from 'node:http';
import { AuthErrorCode, authError } from '../auth/auth.errors';
import { attachPrincipal, type Principal } from '../auth/principal';
import { TokenService } from '../auth/token.service';
import {
  BANK_SIGNATURE_HEADER,
  BANK_TIMESTAMP_HEADER,
  BankSignatureGuard,
} from '../bank/bank-signature';
import { CommonErrorCode, commonError } from '../common/errors/domain.exception';
import { APP_CONFIG, AppConfig } from '../config/config';
import type { StatementSource } from './import-statement.usecase';

export const STATEMENT_MEDIA_TYPES = ['application/xml', 'text/xml', 'text/csv', 'application/csv'];

/**
 * Fastify route config of the statement upload: the one route whose body may be as large as a
 * statement file (ReconciliationOptions.maxBodyBytes; configureApp applies it).
 */
export const STATEMENT_UPLOAD_ROUTE = { statementUpload: true } as const;

export type StatementRequest = FastifyRequest & {
  rawBody?: Buffer;
  principal?: Principal;
  statementSource?: Exclude<StatementSource, 'job'>;
};

/** `text/csv; charset=GBK` → 'text/csv'. */
const mediaTypeOf = (header = ''): string => header.split(';', 1)[0].trim().toLowerCase();

/** `text/csv; charset=GBK` → { mediaType: 'text/csv', charset: 'GBK' }. */
export function contentTypeOf(request: Pick<IncomingMessage, 'headers'>): {
  mediaType: string;
  charset?: string;
} {
  const [type, ...params] = (request.headers['content-type'] ?? '').split(';');
  const charset = params
    .map((param) => /^\s*charset\s*=\s*"?([^";\s]+)"?\s*$/i.exec(param)?.[1])
    .find((value) => value !== undefined);
  return { mediaType: mediaTypeOf(type), ...(charset ? { charset } : {}) };
}

/** Whether the request says its body is a statement file (XML or CSV). */
export const isStatementFile = (request: Pick<IncomingMessage, 'headers'>): boolean =>
  STATEMENT_MEDIA_TYPES.includes(mediaTypeOf(request.headers['content-type']));

const hasCredentials = (request: IncomingMessage) =>
  request.headers.authorization !== undefined ||
  request.headers[BANK_SIGNATURE_HEADER] !== undefined;

/** Runs before the body is read. */
@Injectable()
export class StatementBodyMiddleware implements NestMiddleware {
  use(request: IncomingMessage, _response: unknown, next: () => void): void {
    // Refuse before reading what could be a large body from a caller without credentials.
    if (!hasCredentials(request)) {
      throw authError(
        AuthErrorCode.UNAUTHENTICATED,
        'send Authorization: Bearer <token>, or the bank signature headers',
      );
    }
    if (!isStatementFile(request)) {
      throw commonError(
        CommonErrorCode.UNSUPPORTED_MEDIA_TYPE,
        'Send a camt.053 statement as application/xml or a bank CSV as text/csv.',
      );
    }
    next();
  }
}

/** The bank with its HMAC signature, or an operator with a bearer token. */
@Injectable()
export class StatementUploadGuard implements CanActivate {
  private readonly bank: BankSignatureGuard;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly tokens: TokenService,
  ) {
    this.bank = new BankSignatureGuard(config);
  }

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<StatementRequest>();
    if (
      request.headers[BANK_SIGNATURE_HEADER] !== undefined ||
      request.headers[BANK_TIMESTAMP_HEADER] !== undefined
    ) {
      this.bank.canActivate(context);
      request.statementSource = 'bank';
      return true;
    }
    const match = request.headers.authorization?.match(/^Bearer ([A-Za-z0-9_.+/=-]+)$/);
    if (!match) {
      throw authError(
        AuthErrorCode.UNAUTHENTICATED,
        'send Authorization: Bearer <token>, or the bank signature headers',
      );
    }
    const principal = this.tokens.verify(match[1]);
    if (principal.role !== 'operator') {
      throw authError(AuthErrorCode.FORBIDDEN_ROLE, `the ${principal.role} role may not do this`);
    }
    attachPrincipal(request, principal);
    request.statementSource = 'operator';
    return true;
  }
}
