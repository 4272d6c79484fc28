import { Injectable, NestMiddleware } from '@nestjs/common';
import type { ServerResponse } from 'node:http';
import type { WithPrincipal } from '../../auth/principal';
import { type IdentifiedRequest, pathOf } from '../../common/logging/request-log.middleware';
import { AuditTrail } from './audit-trail.service';

/**
 * Records every request to the audit routes once its response is over (finished, or cut off by
 * the client). A middleware rather than an interceptor, so that requests the guard refuses are
 * recorded too; the guard has set the principal by the time the response ends.
 */
@Injectable()
export class AuditTrailMiddleware implements NestMiddleware {
  constructor(private readonly trail: AuditTrail) {}

  use(
    request: IdentifiedRequest & WithPrincipal,
    response: ServerResponse,
    next: () => void,
  ): void {
    const startedAt = new Date();
    const started = process.hrtime.bigint();
    let recorded = false;
    const record = () => {
      if (recorded) return;
      recorded = true;
      this.trail.record({
        startedAt,
        principal: request.principal,
        method: request.method ?? '',
        path: pathOf(request),
        statusCode: response.statusCode,
        durationMs: Number((process.hrtime.bigint() - started) / 1_000_000n),
        aborted: !response.writableFinished,
        requestId: request.id ?? null,
        ip: request.ip ?? null,
      });
    };
    response.once('finish', record);
    response.once('close', record);
    next();
  }
}
