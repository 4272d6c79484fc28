import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';

export interface InstitutionClosed {
  institutionId: string;
  actor: string;
  reason: string;
}

/** Runs in the closing transaction; returns what to do once it has committed. */
export type ClosureListener = (
  manager: EntityManager,
  closed: InstitutionClosed,
) => Promise<() => Promise<void>>;

/**
 * Lets a feature act when an institution closes, in the same transaction as the status change,
 * without the registry depending on it (refunds register here, DESIGN.md §5 flow 5).
 */
@Injectable()
export class InstitutionClosureHooks {
  private readonly listeners: ClosureListener[] = [];

  register(listener: ClosureListener): void {
    this.listeners.push(listener);
  }

  async closed(
    manager: EntityManager,
    closed: InstitutionClosed,
  ): Promise<(() => Promise<void>)[]> {
    await manager.query(
      `INSERT INTO institution_closures (institution_id, closed_by, reason) VALUES ($1, $2, $3)`,
      [closed.institutionId, closed.actor, closed.reason],
    );
    const afterCommit: (() => Promise<void>)[] = [];
    for (const listener of this.listeners) afterCommit.push(await listener(manager, closed));
    return afterCommit;
  }
}
