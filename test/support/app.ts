/** Boots the real application (same modules and setup as main.ts) against the run's database. */
import { ModuleMetadata } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { Test } from '@nestjs/testing';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppModule } from '../../src/app.module';
import { APP_OPTIONS, configureApp, createHttpAdapter } from '../../src/app.setup';
import { AppConfig, loadConfig } from '../../src/config/config';
import { TokenClaims, signToken } from '../../src/auth/token.service';

export interface TestApp {
  app: NestFastifyApplication;
  config: AppConfig;
  /** The HTTP server for supertest. */
  http: ReturnType<NestFastifyApplication['getHttpServer']>;
  close(): Promise<void>;
}

export async function createTestApp(
  overrides: Record<string, string> = {},
  extraImports: ModuleMetadata['imports'] = [],
  providerOverrides: { provide: unknown; useValue: unknown }[] = [],
): Promise<TestApp> {
  // Each app gets queues of its own, so that one test file's workers never take another's jobs.
  const { config } = loadConfig({
    ...process.env,
    QUEUE_PREFIX: `${process.env.QUEUE_PREFIX ?? 'escrow_test'}_${randomBytes(3).toString('hex')}`,
    ...overrides,
  });
  let builder = Test.createTestingModule({
    imports: [AppModule.forRoot(config), ...(extraImports ?? [])],
  });
  for (const { provide, useValue } of providerOverrides) {
    builder = builder.overrideProvider(provide).useValue(useValue);
  }
  const moduleRef = await builder.compile();
  const app = moduleRef.createNestApplication<NestFastifyApplication>(
    createHttpAdapter(),
    APP_OPTIONS,
  );
  configureApp(app);
  await app.init();
  await app.getHttpAdapter().getInstance().ready();
  return { app, config, http: app.getHttpServer(), close: () => app.close() };
}

/** A raw TCP connection to an app: what it has received so far, and when it ended. */
export interface Connection {
  socket: Socket;
  received: string;
  ended: Promise<unknown>;
}

/**
 * Opens a raw connection to the app (listening on loopback from the first call), for what
 * supertest cannot do: half-sent requests, pipelining, a client going away.
 */
export async function openConnection(t: TestApp): Promise<Connection> {
  if (!t.http.listening) await t.app.listen(0, '127.0.0.1');
  const { port } = t.http.address() as AddressInfo;
  const socket = connect(port, '127.0.0.1');
  const connection: Connection = {
    socket,
    received: '',
    ended: new Promise((resolve) => socket.on('close', resolve)),
  };
  socket.on('data', (chunk: Buffer) => (connection.received += chunk.toString()));
  return connection;
}

/** A bearer token signed with the test configuration's secret. */
export function bearer(config: AppConfig, claims: TokenClaims, expiresInSeconds = 600): string {
  return `Bearer ${signToken(claims, config.jwt.secret, { expiresInSeconds })}`;
}
