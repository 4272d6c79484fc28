/**
 * The sandbox bank answers errors the way the service does (RFC 9457 problem details with a
 * stable `code`), and validates its input by hand: it is a small Express app, not a Nest one.
 */
import type { ErrorRequestHandler, Response } from 'express';
import { randomUUID } from 'node:crypto';
import { MAX_REQUEST_FEN } from '../../common/validation/decorators';
import type { SandboxBankLogger } from './sandbox-bank.types';

export interface FieldError {
  field: string;
  message: string;
}

export class SandboxProblem extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly title: string,
    readonly detail: string,
    readonly extensions: Record<string, unknown> = {},
  ) {
    super(`${code}: ${detail}`);
  }
}

export const validationFailed = (errors: FieldError[]) =>
  new SandboxProblem(
    400,
    'VALIDATION_FAILED',
    'The request is not valid',
    errors.map((e) => `${e.field}: ${e.message}`).join('; '),
    { errors },
  );

export const notFound = (detail: string) =>
  new SandboxProblem(404, 'NOT_FOUND', 'Not found', detail);

export function sendProblem(res: Response, problem: SandboxProblem): void {
  res
    .status(problem.status)
    .type('application/problem+json')
    .send(
      JSON.stringify({
        type: 'about:blank',
        title: problem.title,
        status: problem.status,
        detail: problem.detail,
        code: problem.code,
        ...problem.extensions,
      }),
    );
}

export const ACCOUNT_NO = /^[0-9]{6,34}$/;
export const BANK_CODE = /^[A-Z0-9]{2,16}$/;
/** References travel in notifications, whose DTO accepts printable ASCII up to 128 characters. */
export const REFERENCE = /^[\x21-\x7e]{1,128}$/;
/** ISO 20022 Max35Text, as a statement's EndToEndId must be (printable ASCII here). */
export const END_TO_END_ID = /^[\x21-\x7e]{1,35}$/;
export const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;

/** Reads a JSON body field by field, collecting every error before refusing the request. */
export class BodyReader {
  constructor(
    private readonly source: unknown,
    private readonly errors: FieldError[] = [],
    private readonly prefix = '',
  ) {
    if (prefix === '' && (typeof source !== 'object' || source === null || Array.isArray(source))) {
      this.errors.push({ field: '(body)', message: 'must be a JSON object' });
    }
  }

  private value(field: string): unknown {
    return typeof this.source === 'object' && this.source !== null
      ? (this.source as Record<string, unknown>)[field]
      : undefined;
  }

  private fail(field: string, message: string): void {
    this.errors.push({ field: `${this.prefix}${field}`, message });
  }

  object(field: string): BodyReader {
    const value = this.value(field);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      this.fail(field, 'must be an object');
    }
    return new BodyReader(value ?? {}, this.errors, `${this.prefix}${field}.`);
  }

  string(field: string, pattern: RegExp, hint: string): string {
    const value = this.value(field);
    if (typeof value !== 'string' || !pattern.test(value)) {
      this.fail(field, `must be ${hint}`);
      return '';
    }
    return value;
  }

  optionalString(field: string, pattern: RegExp, hint: string): string | undefined {
    return this.value(field) === undefined ? undefined : this.string(field, pattern, hint);
  }

  name(field: string): string {
    const value = this.value(field);
    if (
      typeof value !== 'string' ||
      value.length > 200 ||
      !/\S/.test(value) ||
      /\p{Cc}/u.test(value)
    ) {
      this.fail(field, 'must be a name of 1 to 200 characters, without control characters');
      return '';
    }
    return value;
  }

  fen(field: string): number {
    const value = this.value(field);
    if (
      !Number.isSafeInteger(value) ||
      (value as number) < 1 ||
      (value as number) > MAX_REQUEST_FEN
    ) {
      this.fail(field, `must be an integer number of fen from 1 to ${MAX_REQUEST_FEN}`);
      return 0;
    }
    return value as number;
  }

  optionalInt(field: string, min: number, max: number): number | undefined {
    const value = this.value(field);
    if (value === undefined) return undefined;
    if (!Number.isSafeInteger(value) || (value as number) < min || (value as number) > max) {
      this.fail(field, `must be an integer from ${min} to ${max}`);
      return undefined;
    }
    return value as number;
  }

  oneOf<T extends string>(field: string, allowed: readonly T[]): T {
    const value = this.value(field);
    if (typeof value !== 'string' || !allowed.includes(value as T)) {
      this.fail(field, `must be one of ${allowed.join(', ')}`);
      return allowed[0];
    }
    return value as T;
  }

  optionalOneOf<T extends string>(field: string, allowed: readonly T[]): T | undefined {
    return this.value(field) === undefined ? undefined : this.oneOf(field, allowed);
  }

  /** Refuses fields nobody asked for, as the service's ValidationPipe does. */
  only(fields: string[]): this {
    if (typeof this.source === 'object' && this.source !== null) {
      for (const key of Object.keys(this.source)) {
        if (!fields.includes(key)) this.fail(key, 'is not allowed');
      }
    }
    return this;
  }

  /** Throws the collected errors as one 400. */
  done(): void {
    if (this.errors.length > 0) throw validationFailed(this.errors);
  }
}

/** The last middleware: problems as they are, malformed JSON as 400, anything else as 500. */
export function problemHandler(logger: SandboxBankLogger): ErrorRequestHandler {
  return (error: unknown, _req, res, _next) => {
    if (error instanceof SandboxProblem) return sendProblem(res, error);
    const type = (error as { type?: string }).type;
    if (type === 'entity.parse.failed') {
      return sendProblem(
        res,
        new SandboxProblem(400, 'VALIDATION_FAILED', 'The request is not valid', 'malformed JSON'),
      );
    }
    if (type === 'entity.too.large') {
      return sendProblem(
        res,
        new SandboxProblem(413, 'PAYLOAD_TOO_LARGE', 'Request body too large', 'body too large'),
      );
    }
    const errorId = randomUUID();
    logger.error(`sandbox bank request failed (errorId ${errorId}): ${String(error)}`);
    sendProblem(
      res,
      new SandboxProblem(500, 'INTERNAL_ERROR', 'Internal error', 'see the sandbox log', {
        errorId,
      }),
    );
  };
}
