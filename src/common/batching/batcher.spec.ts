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
