import { Injectable } from '@nestjs/common';
import type { Principal } from '../../auth/principal';
import { assertDistrictScope } from '../../auth/scope';
import {
  IdempotencyService,
  IdempotentRequest,
} from '../../common/idempotency/idempotency.service';
import { DistrictPolicyDto } from '../dto/district-policy.dto';
import { DistrictPolicyValues } from '../entities/district-policy.entity';
import { toDistrictPolicyDto } from '../district-policy.queries';
import { DistrictPolicyService } from '../district-policy.service';

export interface SetDistrictPolicyCommand {
  principal: Principal;
  idempotency?: IdempotentRequest;
  districtId: string;
  policy: DistrictPolicyValues;
}

/**
 * An operator replaces their district's policy. The new version and its history entry (who, when,
 * the whole policy) commit together; rules read the policy in their own transactions, so a
 * purchase is judged by one version, never half of two.
 */
@Injectable()
export class SetDistrictPolicy {
  constructor(
    private readonly idempotency: IdempotencyService,
    private readonly policies: DistrictPolicyService,
  ) {}

  execute(command: SetDistrictPolicyCommand): Promise<DistrictPolicyDto> {
    const { principal, districtId } = command;
    assertDistrictScope(principal, districtId);
    return this.idempotency.execute(command.idempotency, async (manager) =>
      toDistrictPolicyDto(
        await this.policies.set(manager, districtId, command.policy, principal.sub),
      ),
    );
  }
}
