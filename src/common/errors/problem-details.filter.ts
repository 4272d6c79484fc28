/**
 * The one place errors become responses: RFC 9457 problem details with a stable `code`.
 * An unexpected error answers 500 with an `errorId` and is logged under that id; its detail never
 * leaves the service.
 */
import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ServerResponse } from 'node:http';
import {
  type IdentifiedRequest,
  logRefusal,
  pathOf,
  REQUEST_ID_HEADER,
} from '../logging/request-log.middleware';
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
  414: CommonErrorCode.URI_TOO_LONG,
  415: CommonErrorCode.UNSUPPORTED_MEDIA_TYPE,
  503: CommonErrorCode.SERVICE_UNAVAILABLE,
};

/**
 * Errors thrown by the HTTP layer itself carry a status but no code: Nest's, and the server's own
 * (malformed or empty JSON, a body too large, a Content-Type no route takes), which Nest hands on
 * as HttpExceptions with the server's message. A body whose reading failed because the client went
 * away comes as the request stream's own error, given a 4xx `statusCode` by the server: the
 * client's doing, never logged as ours.
 */
function fromHttpError(error: unknown): DomainException | undefined {
  if (error instanceof HttpException) return httpError(error.getStatus(), error.message);
  // Not `instanceof Error`: the stream's errors may come from another realm (as under jest).
  const { statusCode, code } = (error ?? {}) as { statusCode?: unknown; code?: unknown };
  if (
    typeof statusCode === 'number' &&
    statusCode >= 400 &&
    statusCode < 500 &&
    typeof code === 'string' &&
    CLIENT_GONE.has(code)
  ) {
    return httpError(statusCode, 'The request body could not be read.');
  }
  return undefined;
}

/** The codes of a request stream that ended because its client went away. */
const CLIENT_GONE = new Set(['ECONNRESET', 'ECONNABORTED', 'ERR_STREAM_PREMATURE_CLOSE']);

function httpError(status: number, message: string): DomainException {
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

const errorLog = new Logger('Errors');

/** An error we did not expect: logged under a new errorId, answered with that id and nothing else. */
function unexpected(error: unknown, requestId: unknown, path: string, status = 500) {
  const errorId = randomUUID();
  errorLog.error({ errorId, requestId, err: error, path }, 'unexpected error');
  return toProblem(
    commonError(
      status === 503 ? CommonErrorCode.SERVICE_UNAVAILABLE : CommonErrorCode.INTERNAL_ERROR,
      `Something went wrong on our side. Quote errorId ${errorId} when reporting it.`,
      { errorId },
    ),
    path,
  );
}

@Catch()
export class ProblemDetailsFilter implements ExceptionFilter {
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
    // The service's own 503 (refusing work while it shuts down) is a refusal, not a fault.
    const refusal = known && (known.status < 500 || (known === error && known.status === 503));
    const problem = refusal
      ? toProblem(known, path)
      : unexpected(error, request.id, path, known?.status);
    sendProblem(response, problem);
  }
}

/** Writes problem details to a Fastify reply, or to the raw response a middleware was given. */
function sendProblem(response: FastifyReply | ServerResponse, problem: ProblemDetails): void {
  const body = JSON.stringify(problem);
  if ('raw' in response) {
    if (response.sent) return;
    response.status(problem.status).type(PROBLEM_CONTENT_TYPE).send(body);
  } else {
    if (response.headersSent) return;
    response.writeHead(problem.status, { 'Content-Type': PROBLEM_CONTENT_TYPE }).end(body);
  }
}

/**
 * Fastify's `frameworkErrors`: a URL the router cannot read (a malformed percent-escape, a path
 * segment longer than any id) is refused before any hook, middleware or filter runs. It gets the
 * same problem details, request id and access line as every other answer.
 */
export function answerFrameworkError(
  error: Error & { code?: string },
  request: FastifyRequest,
  reply: FastifyReply,
): void {
  const path = pathOf(request.raw);
  const known =
    error.code === 'FST_ERR_MAX_PARAM_LENGTH'
      ? commonError(CommonErrorCode.URI_TOO_LONG, 'A segment of the path is too long to be an id.')
      : error.code === 'FST_ERR_BAD_URL'
        ? commonError(CommonErrorCode.VALIDATION_FAILED, 'The path has a malformed %-escape.')
        : undefined;
  const problem = known ? toProblem(known, path) : unexpected(error, request.id, path);
  reply.header(REQUEST_ID_HEADER, request.id);
  sendProblem(reply, problem);
  logRefusal(request.raw, request.id, problem.status);
}
