import { Module } from '@nestjs/common';
import { LedgerModule } from '../ledger/ledger.module';
import { DistrictPolicyController } from './district-policy.controller';
import { DistrictPolicyQueries } from './district-policy.queries';
import { DistrictPolicyService } from './district-policy.service';
import { InstitutionClosureHooks } from './institution-closure-hooks';
import { InstitutionQueries } from './institution.queries';
import { InstitutionsController } from './institutions.controller';
import { ChangeInstitutionStatus } from './usecases/change-institution-status.usecase';
import { RegisterInstitution } from './usecases/register-institution.usecase';
import { SetDistrictPolicy } from './usecases/set-district-policy.usecase';

@Module({
  imports: [LedgerModule],
  controllers: [InstitutionsController, DistrictPolicyController],
  providers: [
    DistrictPolicyService,
    DistrictPolicyQueries,
    InstitutionQueries,
    RegisterInstitution,
    ChangeInstitutionStatus,
    SetDistrictPolicy,
    InstitutionClosureHooks,
  ],
  exports: [DistrictPolicyService, InstitutionQueries, InstitutionClosureHooks],
})
export class InstitutionsModule {}
