/**
 * The one place errors become responses: RFC 9457 problem details with a stable `code`.
 * An unexpected error answers 500 with an `errorId` and is logged under that id; its detail never
 * leaves the service.
 */
import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ServerResponse } from 'node:http';
import { type IdentifiedRequest, pathOf } from '../logging/request-log.middleware';
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

/**
 * Errors thrown by the HTTP layer itself carry a status but no code: Nest's, and the server's own
 * (malformed or empty JSON, a body too large, a Content-Type no route takes), which Nest hands on
 * as HttpExceptions with the server's message.
 */
function fromHttpError(error: unknown): DomainException | undefined {
  if (!(error instanceof HttpException)) return undefined;
  const status = error.getStatus();
  const message = error.message;
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
    // An error in a middleware comes with the server's own request and response, not Fastify's.
    const request = http.getRequest<FastifyRequest | IdentifiedRequest>();
    const response = http.getResponse<FastifyReply | ServerResponse>();
    const path = pathOf(request);
    const known =
      error instanceof DomainException
        ? error
        : (domainErrorFromDatabase(error) ?? fromHttpError(error));
    let problem: ProblemDetails;
    if (known && known.status < 500) {
      problem = toProblem(known, path);
    } else {
      const errorId = randomUUID();
      this.logger.error({ errorId, requestId: request.id, err: error, path }, 'unexpected error');
      const status = known?.status ?? 500;
      problem = toProblem(
        commonError(
          status === 503 ? CommonErrorCode.SERVICE_UNAVAILABLE : CommonErrorCode.INTERNAL_ERROR,
          `Something went wrong on our side. Quote errorId ${errorId} when reporting it.`,
          { errorId },
        ),
        path,
      );
    }
    const body = JSON.stringify(problem);
    if ('raw' in response) {
      if (response.sent) return;
      response.status(problem.status).type(PROBLEM_CONTENT_TYPE).send(body);
    } else {
      if (response.headersSent) return;
      response.writeHead(problem.status, { 'Content-Type': PROBLEM_CONTENT_TYPE }).end(body);
    }
  }
}
