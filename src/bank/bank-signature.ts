/**
 * Bank-to-service authentication (API.md): HMAC-SHA256 over "<timestamp>.<raw body>" with the
 * bank's secret, sent as `X-Bank-Signature: sha256=<hex>` with `X-Bank-Timestamp` (unix seconds).
 * Requests outside a 5-minute window are refused; event ids make replays inside it harmless.
 */
import {
  CanActivate,
  ExecutionContext,
  Inject,
  Injectable,
  UseGuards,
  applyDecorators,
} from '@nestjs/common';
import { ApiHeader, ApiSecurity } from '@nestjs/swagger';
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { Public } from '../auth/auth.decorators';
import { APP_CONFIG, AppConfig } from '../config/config';
import { BankErrorCode, bankError } from './bank.errors';

export const BANK_TIMESTAMP_HEADER = 'x-bank-timestamp';
export const BANK_SIGNATURE_HEADER = 'x-bank-signature';
export const BANK_WINDOW_SECONDS = 300;

export function signBankPayload(
  secret: string,
  timestamp: number,
  rawBody: string | Buffer,
): string {
  const mac = createHmac('sha256', secret);
  mac.update(`${timestamp}.`);
  mac.update(rawBody);
  return `sha256=${mac.digest('hex')}`;
}

@Injectable()
export class BankSignatureGuard implements CanActivate {
  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<FastifyRequest & { rawBody?: Buffer }>();
    const timestampHeader = request.headers[BANK_TIMESTAMP_HEADER];
    const signature = request.headers[BANK_SIGNATURE_HEADER];
    if (typeof timestampHeader !== 'string' || !/^\d{1,12}$/.test(timestampHeader)) {
      throw bankError(
        BankErrorCode.BANK_SIGNATURE_INVALID,
        'X-Bank-Timestamp (unix seconds) is required',
      );
    }
    const timestamp = Number(timestampHeader);
    if (Math.abs(Date.now() / 1000 - timestamp) > BANK_WINDOW_SECONDS) {
      throw bankError(
        BankErrorCode.BANK_TIMESTAMP_OUT_OF_WINDOW,
        `X-Bank-Timestamp must be within ${BANK_WINDOW_SECONDS} seconds of now`,
      );
    }
    if (typeof signature !== 'string' || !/^sha256=[0-9a-f]{64}$/.test(signature)) {
      throw bankError(
        BankErrorCode.BANK_SIGNATURE_INVALID,
        'X-Bank-Signature: sha256=<hex> is required',
      );
    }
    const expected = Buffer.from(
      signBankPayload(this.config.bankWebhookSecret, timestamp, request.rawBody ?? Buffer.alloc(0)),
    );
    const given = Buffer.from(signature);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw bankError(
        BankErrorCode.BANK_SIGNATURE_INVALID,
        'the signature does not match the body',
      );
    }
    return true;
  }
}

/** A route called by the bank: HMAC-signed instead of a user token. */
export const BankAuth = () =>
  applyDecorators(
    Public(),
    UseGuards(BankSignatureGuard),
    ApiSecurity('bank-hmac'),
    ApiHeader({ name: 'X-Bank-Timestamp', required: true, description: 'unix seconds' }),
    ApiHeader({ name: 'X-Bank-Signature', required: true, description: 'sha256=<hex HMAC>' }),
  );
