import { ConfigError, loadConfig } from './config';

describe('loadConfig', () => {
  it('uses the documented defaults and warns about development secrets', () => {
    const { config, warnings } = loadConfig({});
    expect(config.port).toBe(3000);
    expect(config.databaseUrl).toBe('postgres://postgres@127.0.0.1:5432/escrow_ledger');
    expect(config.redisUrl).toBe('redis://127.0.0.1:6379');
    expect(warnings.join('\n')).toMatch(/JWT_SECRET/);
    expect(warnings.join('\n')).toMatch(/BANK_WEBHOOK_SECRET/);
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
    });
    expect(config.nodeEnv).toBe('production');
    expect(warnings).toEqual([]);
  });
});
