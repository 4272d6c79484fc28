import { BatchOutcome, Batcher } from './batcher';

/** A handler whose batches finish only when the test says so. */
function controlledHandler() {
  const batches: number[][] = [];
  const finishers: (() => void)[] = [];
  const run = (items: number[]) =>
    new Promise<BatchOutcome<string>[]>((resolve) => {
      batches.push(items);
      finishers.push(() =>
        resolve(
          items.map((n): BatchOutcome<string> =>
            n < 0 ? { ok: false, error: new Error(`bad ${n}`) } : { ok: true, value: `v${n}` },
          ),
        ),
      );
    });
  return { batches, finishers, run };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('Batcher', () => {
  it('sends a lone call at once, and groups what arrives while batches run', async () => {
    const handler = controlledHandler();
    const batcher = new Batcher(handler.run, { maxSize: 3, maxInFlight: 1 });
    const first = batcher.submit(1);
    expect(handler.batches).toEqual([[1]]);
    const rest = [2, 3, 4, 5].map((n) => batcher.submit(n));
    expect(handler.batches).toHaveLength(1);
    handler.finishers[0]();
    await expect(first).resolves.toBe('v1');
    await tick();
    expect(handler.batches).toEqual([[1], [2, 3, 4]]);
    handler.finishers[1]();
    await tick();
    expect(handler.batches).toEqual([[1], [2, 3, 4], [5]]);
    handler.finishers[2]();
    await expect(Promise.all(rest)).resolves.toEqual(['v2', 'v3', 'v4', 'v5']);
  });

  it('runs up to maxInFlight batches at once', () => {
    const handler = controlledHandler();
    const batcher = new Batcher(handler.run, { maxSize: 10, maxInFlight: 2 });
    void batcher.submit(1);
    void batcher.submit(2);
    void batcher.submit(3);
    expect(handler.batches).toEqual([[1], [2]]);
  });

  it('gives each item its own outcome, and every item the error of a failed batch', async () => {
    const handler = controlledHandler();
    const batcher = new Batcher(handler.run, { maxSize: 10, maxInFlight: 1 });
    const blocker = batcher.submit(0);
    const good = batcher.submit(7);
    const bad = batcher.submit(-7);
    handler.finishers[0]();
    await blocker;
    await tick();
    handler.finishers[1]();
    await expect(good).resolves.toBe('v7');
    await expect(bad).rejects.toThrow('bad -7');

    const failing = new Batcher<number, string>(() => Promise.reject(new Error('down')), {
      maxSize: 10,
      maxInFlight: 1,
    });
    await expect(Promise.all([failing.submit(1), failing.submit(2)])).rejects.toThrow('down');
  });

  it('runs a retried item again, before later arrivals', async () => {
    const seen: number[][] = [];
    let retried = false;
    const batcher = new Batcher<number, number>(
      (items) => {
        seen.push(items);
        return Promise.resolve(
          items.map((n): BatchOutcome<number> => {
            if (n === 2 && !retried) {
              retried = true;
              return { retry: true };
            }
            return { ok: true, value: n * 10 };
          }),
        );
      },
      { maxSize: 10, maxInFlight: 1 },
    );
    await expect(Promise.all([1, 2].map((n) => batcher.submit(n)))).resolves.toEqual([10, 20]);
    expect(seen).toEqual([[1], [2], [2]]);
  });

  it('tells how long each item waited for its batch, a retried item from its retry', async () => {
    let now = 1_000;
    const clock = jest.spyOn(performance, 'now').mockImplementation(() => now);
    try {
      const waitsMs: number[] = [];
      const finishers: ((outcomes: BatchOutcome<number>[]) => void)[] = [];
      const batcher = new Batcher<number, number>(
        () => new Promise((resolve) => finishers.push(resolve)),
        { maxSize: 10, maxInFlight: 1, observeWait: (seconds) => waitsMs.push(seconds * 1000) },
      );
      const first = batcher.submit(1);
      now += 20;
      const second = batcher.submit(2);
      now += 30;
      const third = batcher.submit(3);
      now += 50;
      finishers[0]([{ ok: true, value: 10 }]);
      await tick();
      // 2 and 3 go out together: they waited 80 and 50 ms.
      now += 100;
      finishers[1]([{ ok: true, value: 20 }, { retry: true }]);
      await tick();
      // 3 runs again at once: from its retry it waited nothing.
      finishers[2]([{ ok: true, value: 30 }]);
      await expect(Promise.all([first, second, third])).resolves.toEqual([10, 20, 30]);
      expect(waitsMs.map(Math.round)).toEqual([0, 80, 50, 0]);
    } finally {
      clock.mockRestore();
    }
  });

  it('fails a batch whose wait observer throws, instead of leaving its items unanswered', async () => {
    const run = jest.fn((items: number[]) =>
      Promise.resolve(items.map((n): BatchOutcome<number> => ({ ok: true, value: n }))),
    );
    const batcher = new Batcher<number, number>(run, {
      maxSize: 10,
      maxInFlight: 1,
      observeWait: () => {
        throw new Error('observer down');
      },
    });
    await expect(batcher.submit(1)).rejects.toThrow('observer down');
    expect(run).not.toHaveBeenCalled();
  });

  it('answers an item the handler left without an outcome with an error', async () => {
    const batcher = new Batcher<number, number>(
      (items) => Promise.resolve(new Array<BatchOutcome<number>>(items.length)),
      { maxSize: 1, maxInFlight: 1 },
    );
    await expect(batcher.submit(1)).rejects.toThrow('no outcome for item 0');
  });

  it('refuses an outcome list of the wrong length', async () => {
    const batcher = new Batcher<number, number>(() => Promise.resolve([]), {
      maxSize: 1,
      maxInFlight: 1,
    });
    await expect(batcher.submit(1)).rejects.toThrow('got 0 outcomes');
  });
});
