/** The API process: prepares the database, then serves HTTP and (by default) runs the workers. */
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { existsSync } from 'node:fs';
import { AppModule } from './app.module';
import { APP_OPTIONS, configureApp, createHttpAdapter } from './app.setup';
import { startSandboxBank } from './bank/sandbox/sandbox-bank';
import { AppConfig, loadConfigOrExit } from './config/config';
import { prepareDatabase } from './database/migrate';

/** Development: the bundled sandbox bank, so that `npm start` alone walks the whole story. */
async function startBundledSandboxBank(config: AppConfig): Promise<void> {
  try {
    await startSandboxBank({
      port: config.bank.sandboxPort,
      databaseUrl: config.bank.sandboxDatabaseUrl,
      notifyUrl: config.bank.notifyUrl,
      webhookSecret: config.bankWebhookSecret,
    });
  } catch (error) {
    // `npm run sandbox-bank` may already be serving that port: use it.
    if ((error as { code?: string }).code !== 'EADDRINUSE') throw error;
    new Logger('SandboxBank').warn(
      `port ${config.bank.sandboxPort} is taken: assuming a sandbox bank runs there`,
    );
  }
}

async function bootstrap(): Promise<void> {
  if (existsSync('.env')) process.loadEnvFile('.env');
  const config = loadConfigOrExit();
  await prepareDatabase(config);
  if (config.bank.mode === 'sandbox' && config.nodeEnv !== 'production') {
    await startBundledSandboxBank(config);
  }
  const app = await NestFactory.create<NestFastifyApplication>(
    AppModule.forRoot(config),
    createHttpAdapter(),
    APP_OPTIONS,
  );
  configureApp(app);
  await app.listen(config.port, '0.0.0.0');
}

bootstrap().catch((error: unknown) => {
  process.stderr.write(`escrow-ledger failed to start: ${String(error)}\n`);
  process.exit(1);
});
