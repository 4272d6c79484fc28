import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import {
  DEFAULT_DISTRICT_POLICY,
  DistrictPolicy,
  DistrictPolicyValues,
} from './entities/district-policy.entity';

export interface DistrictPolicyView extends DistrictPolicyValues {
  districtId: string;
  /** 0 while the district runs on the defaults. */
  version: number;
  updatedBy: string | null;
  updatedAt: Date | null;
}

/** Reads a district's stored policy, or the defaults of DESIGN.md §3 when it has none yet. */
@Injectable()
export class DistrictPolicyService {
  async get(manager: EntityManager, districtId: string): Promise<DistrictPolicyView> {
    const stored = await manager.findOneBy(DistrictPolicy, { districtId });
    if (stored) return stored;
    return { ...DEFAULT_DISTRICT_POLICY, districtId, version: 0, updatedBy: null, updatedAt: null };
  }
}
