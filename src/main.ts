/** The API process: prepares the database, then serves HTTP and (by default) runs the workers. */
import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import { existsSync } from 'node:fs';
import { AppModule } from './app.module';
import { configureApp } from './app.setup';
import { loadConfigOrExit } from './config/config';
import { prepareDatabase } from './database/migrate';

async function bootstrap(): Promise<void> {
  if (existsSync('.env')) process.loadEnvFile('.env');
  const config = loadConfigOrExit();
  await prepareDatabase(config);
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config), {
    bufferLogs: true,
    rawBody: true,
    bodyParser: false,
  });
  configureApp(app);
  await app.listen(config.port);
}

bootstrap().catch((error: unknown) => {
  process.stderr.write(`escrow-ledger failed to start: ${String(error)}\n`);
  process.exit(1);
});
