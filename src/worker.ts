/** The worker process: queue processors only, no HTTP. `npm start` runs them inside the API. */
import { NestFactory } from '@nestjs/core';
import { existsSync } from 'node:fs';
import { Logger } from 'nestjs-pino';
import { AppModule } from './app.module';
import { loadConfigOrExit } from './config/config';
import { prepareDatabase } from './database/migrate';

async function bootstrap(): Promise<void> {
  if (existsSync('.env')) process.loadEnvFile('.env');
  const config = loadConfigOrExit();
  await prepareDatabase(config);
  const app = await NestFactory.createApplicationContext(AppModule.forRoot(config), {
    bufferLogs: true,
  });
  app.useLogger(app.get(Logger));
  app.enableShutdownHooks();
}

bootstrap().catch((error: unknown) => {
  process.stderr.write(`escrow-ledger worker failed to start: ${String(error)}\n`);
  process.exit(1);
});
