import type { Queue } from 'bull';
import { AppConfig, loadConfig } from '../../config/config';
import { JobName } from '../../queues/queues';
import { SEAL_LEDGER_JOB_ID, SealLedgerSchedule } from './seal-ledger.processor';
import { DEFAULT_SEALING_CONFIG } from './sealing.config';

describe('SealLedgerSchedule', () => {
  const scheduleIn = (nodeEnv: AppConfig['nodeEnv']) => {
    const add = jest.fn().mockResolvedValue(undefined);
    const config: AppConfig = { ...loadConfig({ NODE_ENV: 'test' }).config, nodeEnv };
    new SealLedgerSchedule(
      { add } as unknown as Queue,
      config,
      DEFAULT_SEALING_CONFIG,
    ).onApplicationBootstrap();
    return add;
  };

  it('registers one repeatable sealing job, every 10 s, at start', () => {
    const add = scheduleIn('production');
    expect(add).toHaveBeenCalledTimes(1);
    expect(add).toHaveBeenCalledWith(
      JobName.SealLedger,
      {},
      expect.objectContaining({ jobId: SEAL_LEDGER_JOB_ID, repeat: { every: 10_000 } }),
    );
  });

  it('leaves the tests to seal when they choose', () => {
    expect(scheduleIn('test')).not.toHaveBeenCalled();
  });
});
