/** What main.ts, the tests and the OpenAPI export all apply to the Nest application. */
import { INestApplication } from '@nestjs/common';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { Logger } from 'nestjs-pino';
import { requestIdOf } from './common/logging/request-log.middleware';
import { MetricsService } from './metrics/metrics.service';
import {
  RECONCILIATION_OPTIONS,
  ReconciliationOptions,
} from './reconciliation/reconciliation.constants';
import { STATEMENT_MEDIA_TYPES, STATEMENT_UPLOAD_ROUTE } from './reconciliation/statement-upload';

/** The largest JSON body any route takes. */
export const JSON_BODY_LIMIT_BYTES = 256 * 1024;

/** Options for NestFactory.create and createNestApplication: JSON bodies kept raw for signatures. */
export const APP_OPTIONS = { bufferLogs: true, rawBody: true } as const;

/**
 * The HTTP layer: Fastify. Each request's id is the caller's `X-Request-Id` when it is a plain
 * token, else a new UUID. A trailing slash is ignored, as it was before.
 */
export function createHttpAdapter(): FastifyAdapter {
  return new FastifyAdapter({
    bodyLimit: JSON_BODY_LIMIT_BYTES,
    genReqId: requestIdOf,
    trustProxy: false,
    requestTimeout: 300_000,
    routerOptions: { ignoreTrailingSlash: true },
  });
}

export function configureApp(app: NestFastifyApplication): void {
  app.useLogger(app.get(Logger));
  const server = app.getHttpAdapter().getInstance();
  // Statement files (XML, CSV) are read as bytes, kept for the bank's signature, never inflated.
  // (JSON bodies are parsed by Nest's parser, which keeps them raw too: APP_OPTIONS.rawBody.)
  const { maxBodyBytes } = app.get<ReconciliationOptions>(RECONCILIATION_OPTIONS);
  // Only the statement route reads a body that large; everywhere else the JSON limit holds.
  server.addHook('onRoute', (route) => {
    const config: Partial<typeof STATEMENT_UPLOAD_ROUTE> = route.config ?? {};
    if (config.statementUpload === STATEMENT_UPLOAD_ROUTE.statementUpload) {
      route.bodyLimit = maxBodyBytes;
    }
  });
  server.addContentTypeParser(
    STATEMENT_MEDIA_TYPES,
    { parseAs: 'buffer', bodyLimit: JSON_BODY_LIMIT_BYTES },
    (request, body, done) => {
      (request as { rawBody?: Buffer }).rawBody = body as Buffer;
      done(null, body);
    },
  );
  app.get(MetricsService).timeRequests(server);
  app.enableShutdownHooks();
  SwaggerModule.setup('docs', app, () => buildOpenApiDocument(app), {
    jsonDocumentUrl: 'docs/openapi.json',
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
