/**
 * The one place errors become responses: RFC 9457 problem details with a stable `code`.
 * An unexpected error answers 500 with an `errorId` and is logged under that id; its detail never
 * leaves the service.
 */
import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { Response } from 'express';
import type { IdentifiedRequest } from '../logging/request-log.middleware';
import { CommonErrorCode, DomainException, commonError } from './domain.exception';
import { domainErrorFromDatabase } from './database-errors';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

export interface ProblemDetails {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  instance?: string;
  [extension: string]: unknown;
}

const HTTP_CODES: Record<number, CommonErrorCode> = {
  400: CommonErrorCode.VALIDATION_FAILED,
  401: CommonErrorCode.UNAUTHENTICATED,
  403: CommonErrorCode.FORBIDDEN_ROLE,
  404: CommonErrorCode.NOT_FOUND,
  405: CommonErrorCode.METHOD_NOT_ALLOWED,
  409: CommonErrorCode.CONFLICT,
  413: CommonErrorCode.PAYLOAD_TOO_LARGE,
  415: CommonErrorCode.UNSUPPORTED_MEDIA_TYPE,
  503: CommonErrorCode.SERVICE_UNAVAILABLE,
};

/** Errors thrown by the HTTP layer itself (Nest, body-parser) carry a status but no code. */
function fromHttpError(error: unknown): DomainException | undefined {
  let status: number | undefined;
  let message = '';
  if (error instanceof HttpException) {
    status = error.getStatus();
    message = error.message;
  } else if (error && typeof error === 'object' && 'status' in error && 'type' in error) {
    // body-parser: malformed JSON, too large, wrong charset
    status = Number((error as { status: unknown }).status);
    const type = String((error as { type: unknown }).type);
    message = type === 'entity.parse.failed' ? 'The body is not valid JSON.' : String(type);
  }
  if (status === undefined) return undefined;
  const code = HTTP_CODES[status] ?? (status >= 500 ? CommonErrorCode.INTERNAL_ERROR : undefined);
  if (!code) return new DomainException('HTTP_ERROR', status, 'Request failed', message);
  if (code === CommonErrorCode.VALIDATION_FAILED) {
    return commonError(code, message, { errors: [{ field: 'body', message }] });
  }
  return commonError(code, message);
}

export function toProblem(error: DomainException, instance?: string): ProblemDetails {
  // Extensions never override the standard members.
  return {
    ...error.extensions,
    type: `urn:escrow-ledger:problem:${error.code.toLowerCase().replace(/_/g, '-')}`,
    title: error.title,
    status: error.status,
    detail: error.detail,
    code: error.code,
    ...(instance ? { instance } : {}),
  };
}

@Catch()
export class ProblemDetailsFilter implements ExceptionFilter {
  private readonly logger = new Logger('Errors');

  catch(error: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<IdentifiedRequest>();
    const response = http.getResponse<Response>();
    const known =
      error instanceof DomainException
        ? error
        : (domainErrorFromDatabase(error) ?? fromHttpError(error));
    let problem: ProblemDetails;
    if (known && known.status < 500) {
      problem = toProblem(known, request.originalUrl);
    } else {
      const errorId = randomUUID();
      this.logger.error(
        { errorId, requestId: request.id, err: error, path: request.originalUrl },
        'unexpected error',
      );
      const status = known?.status ?? 500;
      problem = toProblem(
        commonError(
          status === 503 ? CommonErrorCode.SERVICE_UNAVAILABLE : CommonErrorCode.INTERNAL_ERROR,
          `Something went wrong on our side. Quote errorId ${errorId} when reporting it.`,
          { errorId },
        ),
        request.originalUrl,
      );
    }
    if (response.headersSent) return;
    response.status(problem.status).type(PROBLEM_CONTENT_TYPE).send(JSON.stringify(problem));
  }
}
