import { Injectable } from '@nestjs/common';
import type { Principal } from '../../auth/principal';
import {
  IdempotencyService,
  IdempotentRequest,
} from '../../common/idempotency/idempotency.service';
import { InstitutionDto } from '../dto/institution.dto';
import { InstitutionStatus } from '../entities/institution.entity';
import { InstitutionClosureHooks } from '../institution-closure-hooks';
import { InstitutionQueries } from '../institution.queries';
import { InstitutionErrorCode, institutionError } from '../institutions.errors';

export interface ChangeInstitutionStatusCommand {
  principal: Principal;
  idempotency?: IdempotentRequest;
  institutionId: string;
  status: InstitutionStatus;
  reason?: string;
}

export interface InstitutionStatusChange {
  previousStatus: InstitutionStatus;
  status: InstitutionStatus;
  institution: InstitutionDto;
}

/**
 * Suspends, reactivates or closes an institution of the operator's district. `closed` is final.
 * The row is locked for the whole transaction, so a sale or a course that checks the status
 * under FOR SHARE either commits before the change or sees it.
 */
@Injectable()
export class ChangeInstitutionStatus {
  constructor(
    private readonly idempotency: IdempotencyService,
    private readonly institutions: InstitutionQueries,
    private readonly closureHooks: InstitutionClosureHooks,
  ) {}

  async execute(command: ChangeInstitutionStatusCommand): Promise<InstitutionStatusChange> {
    const { principal, institutionId, status } = command;
    const afterCommit: (() => Promise<void>)[] = [];
    const change = await this.idempotency.execute(command.idempotency, async (manager) => {
      const current = await this.institutions.lock(manager, principal, institutionId, 'update');
      if (current.status === 'closed') {
        throw institutionError(
          InstitutionErrorCode.INSTITUTION_CLOSED,
          `institution ${institutionId} is closed; its status can no longer change`,
        );
      }
      await manager.query(
        `UPDATE institutions SET status = $2, status_reason = $3, updated_at = now() WHERE id = $1`,
        [institutionId, status, command.reason ?? null],
      );
      if (status === 'closed') {
        // Closure refunds (DESIGN.md §5 flow 5) are written in this transaction, as outbox rows
        // handed to the queue once it has committed.
        afterCommit.push(
          ...(await this.closureHooks.closed(manager, {
            institutionId,
            actor: principal.sub,
            reason: command.reason ?? 'closed',
          })),
        );
      }
      const institution = await this.institutions.view(manager, principal, institutionId);
      return { previousStatus: current.status, status, institution };
    });
    for (const step of afterCommit) await step();
    return change;
  }
}
