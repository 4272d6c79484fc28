/**
 * The decorators of a route that changes state and honours an `Idempotency-Key` (read in the
 * handler with @Idempotency()): who may call it, the status it answers with, and its OpenAPI
 * description, header and refusals included, written the same way on every such route.
 */
import { HttpCode, HttpStatus, Type, applyDecorators } from '@nestjs/common';
import { ApiHeader, ApiOperation, ApiResponse } from '@nestjs/swagger';
import { Roles } from '../../auth/auth.decorators';
import type { Role } from '../../auth/principal';

/** How every idempotent route documents the header. */
export const IDEMPOTENCY_KEY_HEADER = {
  name: 'Idempotency-Key',
  required: false,
  description:
    'Retries with the same key and body get the first response and change nothing; ' +
    '1-255 visible ASCII characters',
} as const;

export interface IdempotentCommandOptions {
  roles: Role[];
  operationId: string;
  summary: string;
  /** The status of success: 200 unless the route creates (201) or accepts (202). */
  status?: HttpStatus.OK | HttpStatus.CREATED | HttpStatus.ACCEPTED;
  /** The body of success. */
  response: Type<unknown>;
  /** Each refusal status with the problem `code`s it answers with. */
  refusals?: Partial<Record<400 | 403 | 404 | 409 | 422, string>>;
}

export function IdempotentCommand(options: IdempotentCommandOptions): MethodDecorator {
  const status = options.status ?? HttpStatus.OK;
  return applyDecorators(
    Roles(...options.roles),
    HttpCode(status),
    ApiOperation({ operationId: options.operationId, summary: options.summary }),
    ApiHeader(IDEMPOTENCY_KEY_HEADER),
    ApiResponse({ status, type: options.response }),
    ...Object.entries(options.refusals ?? {}).map(([refusal, description]) =>
      ApiResponse({ status: Number(refusal), description }),
    ),
  );
}
