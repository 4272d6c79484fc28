import { InjectQueue, Process, Processor } from '@nestjs/bull';
import { Injectable, Module } from '@nestjs/common';
import type { Job, Queue } from 'bull';
import { JobName, QueueName } from '../../src/queues/queues';
import { TestApp, createTestApp } from '../support/app';

@Injectable()
@Processor(QueueName.System)
class EchoProcessor {
  @Process(JobName.Echo)
  echo(job: Job<{ text: string }>) {
    return { echoed: job.data.text, attempts: job.attemptsMade };
  }
}

@Injectable()
class QueueProbe {
  constructor(@InjectQueue(QueueName.System) readonly queue: Queue) {}
}

@Module({ providers: [EchoProcessor, QueueProbe] })
class EchoModule {}

describe('queues (Redis)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({}, [EchoModule]);
  });

  afterAll(() => t.close());

  it('round-trips a job through Redis with the default retry options', async () => {
    const { queue } = t.app.get(QueueProbe);
    const job = await queue.add(JobName.Echo, { text: 'hello' }, { jobId: 'echo:1' });
    expect(job.opts.attempts).toBeGreaterThan(1);
    expect(job.opts.backoff).toEqual({ type: 'exponential', delay: 2000 });
    await expect(job.finished()).resolves.toEqual({ echoed: 'hello', attempts: 0 });
  });

  it('treats the job id as the business key: a second add is a no-op', async () => {
    const { queue } = t.app.get(QueueProbe);
    const first = await queue.add(JobName.Echo, { text: 'once' }, { jobId: 'echo:once' });
    await first.finished();
    const second = await queue.add(JobName.Echo, { text: 'twice' }, { jobId: 'echo:once' });
    expect(second.id).toBe(first.id);
    expect((await queue.getJob('echo:once'))?.data).toEqual({ text: 'once' });
  });

  it('leaves jobs to the workers when QUEUE_WORKERS=off, and a worker on the same queues runs them', async () => {
    const prefix = `${t.config.queuePrefix}_split`;
    const api = await createTestApp({ QUEUE_PREFIX: prefix, QUEUE_WORKERS: 'off' }, [EchoModule]);
    try {
      const { queue } = api.app.get(QueueProbe);
      const job = await queue.add(JobName.Echo, { text: 'later' }, { jobId: 'echo:split' });
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(await job.getState()).toBe('waiting');

      const worker = await createTestApp({ QUEUE_PREFIX: prefix }, [EchoModule]);
      try {
        await expect(job.finished()).resolves.toEqual({ echoed: 'later', attempts: 0 });
      } finally {
        await worker.close();
      }
    } finally {
      await api.close();
    }
  });
});
