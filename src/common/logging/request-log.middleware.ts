import { Injectable, NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { PinoLogger } from 'nestjs-pino';
import { randomUUID } from 'node:crypto';

export const REQUEST_ID_HEADER = 'X-Request-Id';
/** A caller's request id is kept when it is a plain token; anything else is replaced. */
const REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/;
/** Polled by machines many times a minute: not worth a line each. */
const UNLOGGED_PATHS = new Set(['/health', '/metrics']);

export type IdentifiedRequest = Request & { id?: string };

/**
 * Gives every request an id (the caller's `X-Request-Id`, or a new UUID), answers it in
 * `X-Request-Id` and keeps it on the request for the audit trail and the error log. Once the
 * response is over, writes one info line: id, method, path, status, time, and whether the client
 * went away first. No header is written, so no credential can be. At a level above info nothing
 * is built or serialised: this runs on every request.
 */
@Injectable()
export class RequestLogMiddleware implements NestMiddleware {
  constructor(private readonly logger: PinoLogger) {}

  use(request: IdentifiedRequest, response: Response, next: NextFunction): void {
    const given = request.headers['x-request-id'];
    const id = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    request.id = id;
    response.setHeader(REQUEST_ID_HEADER, id);
    const log = this.logger.logger;
    if (log.isLevelEnabled('info') && !UNLOGGED_PATHS.has(request.originalUrl)) {
      const started = performance.now();
      // 'close' ends every response: after 'finish', or when the client went away first.
      response.once('close', () => {
        const aborted = !response.writableFinished;
        log.info(
          {
            req: {
              id,
              method: request.method,
              url: request.originalUrl,
              remoteAddress: request.socket.remoteAddress,
            },
            res: { statusCode: response.statusCode },
            responseTime: Math.round(performance.now() - started),
            ...(aborted ? { aborted } : {}),
          },
          aborted ? 'request aborted' : 'request completed',
        );
      });
    }
    next();
  }
}
