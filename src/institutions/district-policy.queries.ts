/** Reads of district policies for staff of the district. */
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { Principal } from '../auth/principal';
import { assertDistrictScope } from '../auth/scope';
import { toFen } from '../common/money/fen';
import {
  DistrictPolicyChangeDto,
  DistrictPolicyDto,
  DistrictPolicyHistoryDto,
} from './dto/district-policy.dto';
import {
  DistrictPolicyService,
  DistrictPolicyView,
  policyValuesOf,
} from './district-policy.service';
import { DEFAULT_PAGE_SIZE, PageQueryDto, toPage } from '../common/pagination/cursor';
import { decodeCursor } from '../common/pagination/cursor';

export function toDistrictPolicyDto(view: DistrictPolicyView): DistrictPolicyDto {
  return {
    districtId: view.districtId,
    version: view.version,
    ...policyValuesOf(view),
    updatedBy: view.updatedBy,
    updatedAt: view.updatedAt ? view.updatedAt.toISOString() : null,
  };
}

@Injectable()
export class DistrictPolicyQueries {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly policies: DistrictPolicyService,
  ) {}

  async getDistrictPolicy(principal: Principal, districtId: string): Promise<DistrictPolicyDto> {
    assertDistrictScope(principal, districtId);
    return toDistrictPolicyDto(await this.policies.get(this.dataSource.manager, districtId));
  }

  async listDistrictPolicyHistory(
    principal: Principal,
    districtId: string,
    query: PageQueryDto,
  ): Promise<DistrictPolicyHistoryDto> {
    assertDistrictScope(principal, districtId);
    const limit = query.limit ?? DEFAULT_PAGE_SIZE;
    const rows = await this.policies.history(this.dataSource.manager, districtId, {
      before: decodeCursor(query.cursor, 'bigint'),
      limit: limit + 1,
    });
    return toPage(rows, limit, (row): DistrictPolicyChangeDto => ({
      version: row.version,
      policy: policyValuesOf({ ...row.policy, maxAmountFen: toFen(row.policy.maxAmountFen) }),
      changedBy: row.changed_by,
      changedAt: row.changed_at.toISOString(),
    }));
  }
}
