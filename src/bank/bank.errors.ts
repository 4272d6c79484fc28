import { defineErrors } from '../common/errors/domain.exception';

export enum BankErrorCode {
  BANK_SIGNATURE_INVALID = 'BANK_SIGNATURE_INVALID',
  BANK_TIMESTAMP_OUT_OF_WINDOW = 'BANK_TIMESTAMP_OUT_OF_WINDOW',
  BANK_EVENT_ID_REUSED = 'BANK_EVENT_ID_REUSED',
}

export const bankError = defineErrors<BankErrorCode>({
  BANK_SIGNATURE_INVALID: { status: 401, title: 'Bank signature missing or wrong' },
  BANK_TIMESTAMP_OUT_OF_WINDOW: { status: 401, title: 'Bank request too old or from the future' },
  BANK_EVENT_ID_REUSED: { status: 409, title: 'Event id already used for another notification' },
});
