import { Module } from '@nestjs/common';
import { DistrictPolicyService } from './district-policy.service';

@Module({
  providers: [DistrictPolicyService],
  exports: [DistrictPolicyService],
})
export class InstitutionsModule {}
