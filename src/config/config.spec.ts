import { ConfigError, loadConfig } from './config';

describe('loadConfig', () => {
  it('uses the documented defaults and warns about development secrets', () => {
    const { config, warnings } = loadConfig({});
    expect(config.port).toBe(3000);
    expect(config.databaseUrl).toBe('postgres://postgres@127.0.0.1:5432/escrow_ledger');
    expect(config.redisUrl).toBe('redis://127.0.0.1:6379');
    expect(warnings.join('\n')).toMatch(/JWT_SECRET/);
    expect(warnings.join('\n')).toMatch(/BANK_WEBHOOK_SECRET/);
    expect(config.bank).toMatchObject({
      mode: 'sandbox',
      apiUrl: 'http://127.0.0.1:4100',
      notifyUrl: 'http://127.0.0.1:3000/v1/bank/notifications',
      sandboxDatabaseUrl: 'postgres://postgres@127.0.0.1:5432/escrow_ledger_sandbox_bank',
    });
  });

  it.each([
    [{ PORT: 'abc' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ DATABASE_URL: 'mysql://x' }, 'DATABASE_URL'],
    [{ REDIS_URL: 'not a url' }, 'REDIS_URL'],
    [{ NODE_ENV: 'staging' }, 'NODE_ENV'],
    [{ NODE_ENV: 'production', BANK_WEBHOOK_SECRET: 'b'.repeat(32) }, 'JWT_SECRET'],
    [{ NODE_ENV: 'production', JWT_SECRET: 'j'.repeat(32) }, 'BANK_WEBHOOK_SECRET'],
    [{ JWT_SECRET: 'short' }, 'JWT_SECRET'],
    [{ JWT_PUBLIC_KEY: 'not pem' }, 'JWT_PUBLIC_KEY'],
    [{ BANK_MODE: 'http' }, 'BANK_API_URL'],
    [{ BANK_MODE: 'carrier-pigeon' }, 'BANK_MODE'],
    [{ BANK_TIMEOUT_MS: '0' }, 'BANK_TIMEOUT_MS'],
    [{ SETTLEMENT_CRON: 'daily' }, 'SETTLEMENT_CRON'],
  ])('refuses %j naming %s', (env, variable) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    try {
      loadConfig(env);
    } catch (error) {
      expect((error as ConfigError).variable).toBe(variable);
    }
  });

  it('starts in production when both secrets are given', () => {
    const { config, warnings } = loadConfig({
      NODE_ENV: 'production',
      JWT_SECRET: 'j'.repeat(32),
      BANK_WEBHOOK_SECRET: 'b'.repeat(32),
      BANK_API_URL: 'https://bank.example.com/h2h',
    });
    expect(config.nodeEnv).toBe('production');
    expect(config.bank.mode).toBe('http');
    expect(warnings).toEqual([]);
  });
});
