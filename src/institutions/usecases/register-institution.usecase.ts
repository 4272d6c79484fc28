import { Injectable } from '@nestjs/common';
import { AuthErrorCode, authError } from '../../auth/auth.errors';
import type { Principal } from '../../auth/principal';
import {
  IdempotencyService,
  IdempotentRequest,
} from '../../common/idempotency/idempotency.service';
import { LedgerService } from '../../ledger/ledger.service';
import { InstitutionDto } from '../dto/institution.dto';
import { RegisterInstitutionDto } from '../dto/register-institution.dto';
import { Institution } from '../entities/institution.entity';
import { InstitutionBankAccount } from '../entities/institution-bank-account.entity';
import { InstitutionQueries } from '../institution.queries';
import { InstitutionErrorCode, institutionError } from '../institutions.errors';

export interface RegisterInstitutionCommand {
  principal: Principal;
  idempotency?: IdempotentRequest;
  registration: RegisterInstitutionDto;
}

/**
 * Registers an institution of the operator's district: the institution, its custody and
 * settlement accounts and its ledger accounts commit together or not at all. Duplicate licences
 * and account numbers are refused by named unique constraints (see institutions.errors.ts), which
 * also settles concurrent registrations of the same licence.
 */
@Injectable()
export class RegisterInstitution {
  constructor(
    private readonly idempotency: IdempotencyService,
    private readonly ledger: LedgerService,
    private readonly institutions: InstitutionQueries,
  ) {}

  execute(command: RegisterInstitutionCommand): Promise<InstitutionDto> {
    const { principal, registration } = command;
    if (registration.districtId !== principal.districtId) {
      throw authError(
        AuthErrorCode.FORBIDDEN_SCOPE,
        'operators register institutions of their own district only',
      );
    }
    if (registration.custodyAccount.accountNo === registration.settlementAccount.accountNo) {
      throw institutionError(
        InstitutionErrorCode.BANK_ACCOUNTS_MUST_DIFFER,
        'the custody and settlement accounts have the same account number',
      );
    }
    return this.idempotency.execute(command.idempotency, async (manager) => {
      const inserted = await manager.insert(Institution, {
        name: registration.name,
        licenseNo: registration.licenseNo,
        districtId: registration.districtId,
        status: 'active',
        createdBy: principal.sub,
      });
      const id = (inserted.identifiers[0] as { id: string }).id;
      await manager.insert(InstitutionBankAccount, [
        { institutionId: id, kind: 'custody', ...registration.custodyAccount },
        { institutionId: id, kind: 'settlement', ...registration.settlementAccount },
      ]);
      await this.ledger.openInstitutionAccounts(manager, id);
      return this.institutions.view(manager, principal, id);
    });
  }
}
