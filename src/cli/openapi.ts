/** Writes openapi.json from the code: `npm run openapi`. CI fails when the committed file differs. */
import { NestFactory } from '@nestjs/core';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AppModule } from '../app.module';
import { buildOpenApiDocument, createHttpAdapter } from '../app.setup';
import { loadConfig } from '../config/config';

export const OPENAPI_PATH = join(__dirname, '..', '..', 'docs', 'openapi.json');

/** Builds the document without connecting to PostgreSQL or Redis. */
export async function generateOpenApi(): Promise<string> {
  const { config } = loadConfig({ ...process.env, LOG_LEVEL: 'silent' });
  const app = await NestFactory.create(AppModule.forRoot(config), createHttpAdapter(), {
    preview: true,
    logger: false,
    abortOnError: false,
  });
  const document = buildOpenApiDocument(app);
  await app.close();
  return `${JSON.stringify(document, null, 2)}\n`;
}

if (require.main === module) {
  generateOpenApi()
    .then((text) => {
      writeFileSync(OPENAPI_PATH, text);
      process.stdout.write(`wrote ${OPENAPI_PATH}\n`);
    })
    .catch((error: unknown) => {
      process.stderr.write(`openapi: ${String(error)}\n`);
      process.exit(1);
    });
}
