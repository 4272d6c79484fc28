import { onConstraintViolation } from '../common/errors/database-errors';
import { defineErrors } from '../common/errors/domain.exception';

export enum BankErrorCode {
  BANK_SIGNATURE_INVALID = 'BANK_SIGNATURE_INVALID',
  BANK_TIMESTAMP_OUT_OF_WINDOW = 'BANK_TIMESTAMP_OUT_OF_WINDOW',
  BANK_EVENT_ID_REUSED = 'BANK_EVENT_ID_REUSED',
  INSTRUCTION_NOT_FOUND = 'INSTRUCTION_NOT_FOUND',
  INSTRUCTION_NOT_FAILED = 'INSTRUCTION_NOT_FAILED',
  INSTRUCTION_ALREADY_RETRIED = 'INSTRUCTION_ALREADY_RETRIED',
}

export const bankError = defineErrors<BankErrorCode>({
  BANK_SIGNATURE_INVALID: { status: 401, title: 'Bank signature missing or wrong' },
  BANK_TIMESTAMP_OUT_OF_WINDOW: { status: 401, title: 'Bank request too old or from the future' },
  BANK_EVENT_ID_REUSED: { status: 409, title: 'Event id already used for another notification' },
  INSTRUCTION_NOT_FOUND: { status: 404, title: 'No such bank instruction' },
  INSTRUCTION_NOT_FAILED: { status: 409, title: 'Only a failed instruction can be retried' },
  INSTRUCTION_ALREADY_RETRIED: { status: 409, title: 'The instruction was already retried' },
});

onConstraintViolation('uq_bank_instructions_retry_of', () =>
  bankError(
    BankErrorCode.INSTRUCTION_ALREADY_RETRIED,
    'This failed instruction was already retried.',
  ),
);
onConstraintViolation('uq_bank_instructions_live_subject', () =>
  bankError(
    BankErrorCode.INSTRUCTION_ALREADY_RETRIED,
    'Another instruction for the same batch or refund is still live.',
  ),
);
