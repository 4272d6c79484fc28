import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { signBankPayload } from '../../src/bank/bank-signature';
import { AppConfig } from '../../src/config/config';

export interface NotificationOptions {
  timestamp?: number;
  secret?: string;
  signature?: string;
}

/** Posts a bank notification signed the way the bank signs it. */
export function sendBankNotification(
  http: Parameters<typeof request>[0],
  config: AppConfig,
  body: object | string,
  options: NotificationOptions = {},
) {
  const raw = typeof body === 'string' ? body : JSON.stringify(body);
  const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000);
  return request(http)
    .post('/v1/bank/notifications')
    .set('Content-Type', 'application/json')
    .set('X-Bank-Timestamp', String(timestamp))
    .set(
      'X-Bank-Signature',
      options.signature ??
        signBankPayload(options.secret ?? config.bankWebhookSecret, timestamp, raw),
    )
    .send(raw);
}

const token = () => randomBytes(6).toString('hex');

/** A payment_received notification for `reference` into `accountNo`; override any field. */
export function paymentNotification(
  accountNo: string,
  reference: string,
  amountFen: number,
  overrides: Record<string, unknown> = {},
) {
  return {
    eventId: `evt_${token()}`,
    type: 'payment_received',
    accountNo,
    amountFen,
    reference,
    bankTxnId: `TXN${token()}`,
    occurredAt: new Date().toISOString(),
    payerAccount: { bankCode: 'CMB', accountNo: '6214830212345678', accountName: 'Wang Fang' },
    ...overrides,
  };
}
