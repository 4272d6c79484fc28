import { Injectable, Logger, NestMiddleware } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { PinoLogger } from 'nestjs-pino';
import { randomUUID } from 'node:crypto';

export const REQUEST_ID_HEADER = 'X-Request-Id';
/** A caller's request id is kept when it is a plain token; anything else is replaced. */
const REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/;
/** Polled by machines many times a minute: not worth a line each. */
const UNLOGGED_PATHS = new Set(['/health', '/metrics']);

/** A request as middleware sees it: the HTTP server's own, with what the framework added. */
export type IdentifiedRequest = IncomingMessage & {
  id?: string;
  originalUrl?: string;
  ip?: string;
};

/** The path and query a request asked for, as the client sent it. */
export const pathOf = (request: { originalUrl?: string; url?: string }): string =>
  request.originalUrl ?? request.url ?? '';

/** The request's id: the caller's `X-Request-Id` when it is a plain token, or a new UUID. */
export function requestIdOf(request: IncomingMessage): string {
  const given = request.headers['x-request-id'];
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
}

/** The access line's fields: never a header, so never a credential. */
function accessLine(request: IncomingMessage, id: string, url: string, statusCode: number) {
  return {
    req: { id, method: request.method, url, remoteAddress: request.socket.remoteAddress },
    res: { statusCode },
  };
}

const refusals = new Logger('HTTP');

/** The access line of a request the router refused before any middleware ran. */
export function logRefusal(request: IncomingMessage, id: string, statusCode: number): void {
  refusals.log(accessLine(request, id, pathOf(request), statusCode), 'request refused');
}

/** A path with its query string cut off. */
export const withoutQuery = (url: string): string => {
  const query = url.indexOf('?');
  return query < 0 ? url : url.slice(0, query);
};

/**
 * Answers every request's id (requestIdOf, given by the HTTP layer) in `X-Request-Id`. Once the
 * response is over, writes one info line: id, method, path, status, time, and whether the client
 * went away first. At a level above info nothing is built or serialised: this runs on every
 * request.
 */
@Injectable()
export class RequestLogMiddleware implements NestMiddleware {
  constructor(private readonly logger: PinoLogger) {}

  use(request: IdentifiedRequest, response: ServerResponse, next: () => void): void {
    const id = request.id ?? requestIdOf(request);
    response.setHeader(REQUEST_ID_HEADER, id);
    const log = this.logger.logger;
    const url = pathOf(request);
    if (log.isLevelEnabled('info') && !UNLOGGED_PATHS.has(withoutQuery(url))) {
      const started = performance.now();
      // 'close' ends every response: after 'finish', or when the client went away first.
      response.once('close', () => {
        const aborted = !response.writableFinished;
        log.info(
          {
            ...accessLine(request, id, url, response.statusCode),
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
