import { createParamDecorator, ExecutionContext, HttpStatus, RequestMethod } from '@nestjs/common';
import { HTTP_CODE_METADATA, METHOD_METADATA } from '@nestjs/common/constants';
import { createHash } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { validationFailed } from '../errors/domain.exception';
import { withoutQuery } from '../logging/request-log.middleware';
import type { Principal } from '../../auth/principal';
import type { IdempotentRequest } from './idempotency.service';

export const IDEMPOTENCY_HEADER = 'idempotency-key';
const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

/** JSON with sorted keys, so that the same body always hashes the same. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

export function idempotentRequestFrom(
  request: FastifyRequest & { principal?: Principal },
  statusCode: number,
): IdempotentRequest | undefined {
  const header = request.headers[IDEMPOTENCY_HEADER];
  if (header === undefined) return undefined;
  const key = Array.isArray(header) ? header.join(',') : header;
  if (!KEY_PATTERN.test(key)) {
    throw validationFailed([
      { field: 'Idempotency-Key', message: 'must be 1-255 visible ASCII characters' },
    ]);
  }
  const principal = request.principal;
  const scope = principal ? `${principal.role}:${principal.sub}` : 'anonymous';
  const fingerprint = createHash('sha256')
    .update(
      `${request.method} ${withoutQuery(request.originalUrl)}\n${canonicalJson(request.body)}`,
    )
    .digest('hex');
  return { scope, key, fingerprint, statusCode };
}

/**
 * The request's `Idempotency-Key` with what identifies the request, or undefined without one.
 * Hand it to IdempotencyService.execute inside the use case.
 */
export const Idempotency = createParamDecorator((_: unknown, context: ExecutionContext) => {
  const handler = context.getHandler();
  const method = Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod | undefined;
  const statusCode =
    (Reflect.getMetadata(HTTP_CODE_METADATA, handler) as number | undefined) ??
    (method === RequestMethod.POST ? HttpStatus.CREATED : HttpStatus.OK);
  return idempotentRequestFrom(context.switchToHttp().getRequest(), statusCode);
});
