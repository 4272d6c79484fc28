/** What main.ts, the tests and the OpenAPI export all apply to the Nest application. */
import { INestApplication } from '@nestjs/common';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AuditTrail } from './audit/trail/audit-trail.service';
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
import {
  STATEMENT_MEDIA_TYPES,
  STATEMENT_UPLOAD_ROUTE,
  isStatementFile,
} from './reconciliation/statement-upload';

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
    // connections): drainOnShutdown.
    forceCloseConnections: false,
    return503OnClosing: false,
    frameworkErrors: answerFrameworkError,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: MAX_PARAM_LENGTH },
  });
}

export function configureApp(app: NestFastifyApplication): void {
  app.useLogger(app.get(Logger));
  const server = app.getHttpAdapter().getInstance();
  const auditTrail = app.get(AuditTrail);
  const closing = drainOnShutdown(server, () => auditTrail.settle());
  readBodies(server, app.get<ReconciliationOptions>(RECONCILIATION_OPTIONS).maxBodyBytes, closing);
  app.get(MetricsService).timeRequests(server);
  app.enableShutdownHooks();
  SwaggerModule.setup('docs', app, () => buildOpenApiDocument(app), {
    jsonDocumentUrl: 'docs/openapi.json',
  });
}

/** How long shutdown waits for the requests in flight before it closes their connections. */
const SHUTDOWN_GRACE_MS = 25_000;

/**
 * The bodies the service reads, and no other: JSON (kept raw too, for the bank's signature) and,
 * on the statement route only, statement files (XML, CSV). Both are read as bytes, up to the
 * route's limit, and never inflated. Any other type, text and forms included, answers 415; so does
 * an encoded body, or a statement file sent elsewhere, before a byte of it is read.
 */
function readBodies(server: FastifyInstance, maxStatementBytes: number, closing: () => boolean) {
  server.removeAllContentTypeParsers();
  const parseJson = server.getDefaultJsonParser('error', 'error');
  // Parsed as bytes: they are kept for the bank's signature.
  const keepRaw = (request: FastifyRequest, body: string | Buffer): Buffer => {
    const raw = body as Buffer;
    (request as { rawBody?: Buffer }).rawBody = raw;
    return raw;
  };
  server.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    // An empty body is no body, whatever its type says: a route's validation decides.
    if (keepRaw(request, body).length === 0) done(null, undefined);
    else void parseJson(request, body as string, done); // secure-json-parse takes bytes as well
  });
  server.addContentTypeParser(STATEMENT_MEDIA_TYPES, { parseAs: 'buffer' }, (request, body, done) =>
    done(null, keepRaw(request, body)),
  );
  const isStatementRoute = (config: object | undefined) =>
    (config as Partial<typeof STATEMENT_UPLOAD_ROUTE> | undefined)?.statementUpload ===
    STATEMENT_UPLOAD_ROUTE.statementUpload;
  // Only the statement route reads a body that large; everywhere else the JSON limit holds.
  server.addHook('onRoute', (route) => {
    if (isStatementRoute(route.config)) route.bodyLimit = maxStatementBytes;
  });
  // After the middleware (request id, access line), before any byte of the body is read.
  server.addHook('preParsing', (request, _reply, payload, done) => {
    const refusal = closing()
      ? commonError(CommonErrorCode.SERVICE_UNAVAILABLE, 'The service is shutting down.')
      : bodyRefusal(request, isStatementRoute(request.routeOptions.config));
    if (refusal) done(refusal);
    else done(null, payload);
  });
}

function bodyRefusal(request: FastifyRequest, statementRoute: boolean) {
  const { headers } = request;
  const encoding = headers['content-encoding']?.trim().toLowerCase();
  const hasBody =
    headers['transfer-encoding'] !== undefined ||
    (headers['content-length'] !== undefined && headers['content-length'] !== '0');
  if (hasBody && encoding !== undefined && encoding !== 'identity') {
    return commonError(
      CommonErrorCode.UNSUPPORTED_MEDIA_TYPE,
      `Content-Encoding ${encoding} is not accepted: send the body as it is.`,
    );
  }
  if (hasBody && !statementRoute && isStatementFile(request)) {
    return commonError(CommonErrorCode.UNSUPPORTED_MEDIA_TYPE, 'Send a JSON body.');
  }
  return undefined;
}

/**
 * On shutdown the server stops listening and answers the requests in flight, each with
 * `Connection: close`, so that every connection ends after its last answer. A request that still
 * comes on an open connection is refused (503). What has not finished after SHUTDOWN_GRACE_MS has
 * its connection closed. Once the server is closed, `settle` runs (before the database closes).
 * Returns whether the server is closing.
 */
function drainOnShutdown(server: FastifyInstance, settle: () => Promise<void>): () => boolean {
  let closing = false;
  server.addHook('preClose', (done) => {
    closing = true;
    const deadline = setTimeout(() => server.server.closeAllConnections(), SHUTDOWN_GRACE_MS);
    deadline.unref();
    server.server.once('close', () => clearTimeout(deadline));
    done();
  });
  server.addHook('onSend', (_request, reply, payload, done) => {
    if (closing) void reply.header('Connection', 'close');
    done(null, payload);
  });
  server.addHook('onClose', (_instance, done) => {
    settle().then(() => done(), done);
  });
  return () => closing;
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
