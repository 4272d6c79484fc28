/**
 * The sandbox bank on its own (`npm run sandbox-bank`): for running it beside a service started
 * elsewhere, or for poking at it by hand. `npm start` in development starts it in-process instead.
 */
import { Logger } from '@nestjs/common';
import { existsSync } from 'node:fs';
import { loadConfigOrExit } from '../../config/config';
import { startSandboxBank } from './sandbox-bank';

async function main(): Promise<void> {
  if (existsSync('.env')) process.loadEnvFile('.env');
  const config = loadConfigOrExit();
  if (config.nodeEnv === 'production') {
    throw new Error(
      'the sandbox bank moves pretend money: it does not run with NODE_ENV=production',
    );
  }
  const bank = await startSandboxBank({
    port: config.bank.sandboxPort,
    databaseUrl: config.bank.sandboxDatabaseUrl,
    notifyUrl: config.bank.notifyUrl,
    webhookSecret: config.bankWebhookSecret,
    logger: new Logger('SandboxBank'),
  });
  const stop = () => {
    bank.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`sandbox bank failed to start: ${String(error)}\n`);
  process.exit(1);
});
