import { Injectable, NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { MetricsService } from './metrics.service';

/**
 * Times every request and records it under its route template (`/v1/lessons/:id/confirm`), never
 * the raw path, so that ids do not become label values; a request no route matched counts as
 * `unmatched`.
 */
@Injectable()
export class HttpMetricsMiddleware implements NestMiddleware {
  constructor(private readonly metrics: MetricsService) {}

  use(request: Request, response: Response, next: NextFunction): void {
    const stop = this.metrics.httpDuration.startTimer();
    response.once('finish', () => {
      // A wildcard is the catch-all behind which Nest answers 404, not a route of ours.
      const route = (request.route as { path?: string } | undefined)?.path;
      const matched = route !== undefined && !route.includes('*');
      stop({
        method: request.method,
        route: matched ? `${request.baseUrl}${route}` : 'unmatched',
        status: String(response.statusCode),
      });
    });
    next();
  }
}
