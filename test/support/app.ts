/** Boots the real application (same modules and setup as main.ts) against the run's database. */
import { ModuleMetadata } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { NestExpressApplication } from '@nestjs/platform-express';
import { AppModule } from '../../src/app.module';
import { configureApp } from '../../src/app.setup';
import { AppConfig, loadConfig } from '../../src/config/config';
import { TokenClaims, signToken } from '../../src/auth/token.service';

export interface TestApp {
  app: NestExpressApplication;
  config: AppConfig;
  /** The HTTP server for supertest. */
  http: ReturnType<NestExpressApplication['getHttpServer']>;
  close(): Promise<void>;
}

export async function createTestApp(
  overrides: Record<string, string> = {},
  extraImports: ModuleMetadata['imports'] = [],
): Promise<TestApp> {
  const { config } = loadConfig({ ...process.env, ...overrides });
  const moduleRef = await Test.createTestingModule({
    imports: [AppModule.forRoot(config), ...(extraImports ?? [])],
  }).compile();
  const app = moduleRef.createNestApplication<NestExpressApplication>({
    rawBody: true,
    bodyParser: false,
    bufferLogs: true,
  });
  configureApp(app);
  await app.init();
  return { app, config, http: app.getHttpServer(), close: () => app.close() };
}

/** A bearer token signed with the test configuration's secret. */
export function bearer(config: AppConfig, claims: TokenClaims, expiresInSeconds = 600): string {
  return `Bearer ${signToken(claims, config.jwt.secret, { expiresInSeconds })}`;
}
