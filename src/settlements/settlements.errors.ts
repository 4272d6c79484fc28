import { defineErrors } from '../common/errors/domain.exception';

export enum SettlementErrorCode {
  SETTLEMENT_NOT_FOUND = 'SETTLEMENT_NOT_FOUND',
}

export const settlementError = defineErrors<SettlementErrorCode>({
  SETTLEMENT_NOT_FOUND: { status: 404, title: 'Settlement batch not found' },
});
