/** What main.ts, the tests and the OpenAPI export all apply to the Nest application. */
import { INestApplication } from '@nestjs/common';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyInstance } from 'fastify';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { Logger } from 'nestjs-pino';
import { CommonErrorCode, commonError } from './common/errors/domain.exception';
import { answerFrameworkError } from './common/errors/problem-details.filter';
import { requestIdOf } from './common/logging/request-log.middleware';
import { MetricsService } from './metrics/metrics.service';
import {
  RECONCILIATION_OPTIONS,
  ReconciliationOptions,
} from './reconciliation/reconciliation.constants';
import { STATEMENT_MEDIA_TYPES, STATEMENT_UPLOAD_ROUTE } from './reconciliation/statement-upload';

/** The largest JSON body any route takes. */
export const JSON_BODY_LIMIT_BYTES = 256 * 1024;

/** The longest path segment the router matches (ids are 36); a longer one answers 414. */
const MAX_PARAM_LENGTH = 256;

/** Options for NestFactory.create and createNestApplication. configureApp registers the parsers. */
export const APP_OPTIONS = { bufferLogs: true, bodyParser: false } as const;

/**
 * The HTTP layer: Fastify. Each request's id is the caller's `X-Request-Id` when it is a plain
 * token, else a new UUID. A trailing slash is ignored, as it was before. A URL the router cannot
 * read is answered with problem details (answerFrameworkError); so is a request that arrives while
 * the service shuts down (configureApp), rather than with Fastify's own JSON.
 */
export function createHttpAdapter(): FastifyAdapter {
  return new FastifyAdapter({
    bodyLimit: JSON_BODY_LIMIT_BYTES,
    genReqId: requestIdOf,
    trustProxy: false,
    requestTimeout: 300_000,
    // On shutdown, requests in flight are answered (Fastify's default would drop their
    // connections); the server itself closes the idle ones. See configureApp for the rest.
    forceCloseConnections: false,
    return503OnClosing: false,
    frameworkErrors: answerFrameworkError,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: MAX_PARAM_LENGTH },
  });
}

export function configureApp(app: NestFastifyApplication): void {
  app.useLogger(app.get(Logger));
  const server = app.getHttpAdapter().getInstance();
  readBodies(server, app.get<ReconciliationOptions>(RECONCILIATION_OPTIONS).maxBodyBytes);
  app.get(MetricsService).timeRequests(server);
  app.enableShutdownHooks();
  SwaggerModule.setup('docs', app, () => buildOpenApiDocument(app), {
    jsonDocumentUrl: 'docs/openapi.json',
  });
}

/**
 * The bodies the service reads, and no other: JSON everywhere (kept raw too, for the bank's
 * signature), statement files (XML, CSV) on the statement route only. Both are read as bytes, up to
 * the route's limit, and never inflated: an encoded body is refused before it is read. Any other
 * type, text and forms included, answers 415.
 */
function readBodies(server: FastifyInstance, maxStatementBytes: number): void {
  server.removeAllContentTypeParsers();
  const parseJson = server.getDefaultJsonParser('error', 'error');
  server.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    (request as { rawBody?: Buffer }).rawBody = body as Buffer;
    void parseJson(request, body as string, done); // secure-json-parse takes bytes as well
  });
  server.addContentTypeParser(
    STATEMENT_MEDIA_TYPES,
    { parseAs: 'buffer' },
    (request, body, done) => {
      (request as { rawBody?: Buffer }).rawBody = body as Buffer;
      done(null, body);
    },
  );
  // Only the statement route reads a body that large; everywhere else the JSON limit holds.
  server.addHook('onRoute', (route) => {
    const config: Partial<typeof STATEMENT_UPLOAD_ROUTE> = route.config ?? {};
    if (config.statementUpload === STATEMENT_UPLOAD_ROUTE.statementUpload) {
      route.bodyLimit = maxStatementBytes;
    }
  });
  // On shutdown the server stops listening and answers what is in flight; a request that comes
  // later on an open connection is refused (503, and the connection closed). Connections that
  // fall idle are closed as they do, not after their keep-alive timeout.
  let closing = false;
  server.addHook('preClose', (done) => {
    closing = true;
    const sweep = setInterval(() => server.server.closeIdleConnections(), 100).unref();
    server.server.once('close', () => clearInterval(sweep));
    done();
  });
  // After the middleware (request id, access line), before any byte of the body is read.
  server.addHook('preParsing', (request, _reply, payload, done) => {
    const encoding = request.headers['content-encoding'];
    if (closing) {
      done(commonError(CommonErrorCode.SERVICE_UNAVAILABLE, 'The service is shutting down.'));
    } else if (encoding !== undefined && encoding !== 'identity') {
      done(
        commonError(
          CommonErrorCode.UNSUPPORTED_MEDIA_TYPE,
          `Content-Encoding ${encoding} is not accepted: send the body as it is.`,
        ),
      );
    } else {
      done(null, payload);
    }
  });
}

export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('escrow-ledger')
    .setDescription(
      'Custody of prepaid tutoring fees under district supervision. Money is integer fen; ' +
        'errors are RFC 9457 problem details with a stable `code`.',
    )
    .setVersion('1')
    .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' })
    .addApiKey(
      {
        type: 'apiKey',
        in: 'header',
        name: 'X-Bank-Signature',
        description: 'sha256=<hex HMAC-SHA256 of "<X-Bank-Timestamp>.<raw body>">',
      },
      'bank-hmac',
    )
    .build();
  return SwaggerModule.createDocument(app, config, {
    operationIdFactory: (_controller, method) => method,
  });
}
