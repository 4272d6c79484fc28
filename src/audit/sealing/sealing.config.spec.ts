import { AppConfig, loadConfig } from '../../config/config';
import { DEFAULT_SEALING_CONFIG, sealingConfigFrom } from './sealing.config';

describe('sealing configuration', () => {
  const config = loadConfig({ NODE_ENV: 'test' }).config;

  it('seals with SM3 every 10 s by default', () => {
    expect(sealingConfigFrom(config)).toEqual(DEFAULT_SEALING_CONFIG);
    expect(DEFAULT_SEALING_CONFIG).toMatchObject({ algorithm: 'sm3', everyMs: 10_000 });
  });

  it('takes the algorithm the application configuration names', () => {
    const withSha = { ...config, ledgerHashAlgorithm: 'sha256' } as AppConfig;
    expect(sealingConfigFrom(withSha).algorithm).toBe('sha256');
    const bad = { ...config, ledgerHashAlgorithm: 'md5' } as unknown as AppConfig;
    expect(() => sealingConfigFrom(bad)).toThrow(/sm3 or sha256/);
  });
});
