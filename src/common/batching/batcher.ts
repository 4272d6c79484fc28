/**
 * Groups concurrent calls into batches, so that work arriving together shares one database
 * transaction. There is no timer: a call goes out at once when fewer than `maxInFlight` batches
 * are running; otherwise it waits with the others until one finishes, and they go out together
 * (at most `maxSize` at a time). An idle service therefore answers a lone call as fast as before,
 * and a busy one spends its round trips and commits on many calls at once.
 */

/** What the batch handler says about one item: its value, its error, or "run me again". */
export type BatchOutcome<O> =
  { ok: true; value: O } | { ok: false; error: unknown } | { retry: true };

export interface BatcherOptions {
  /** Items in one batch at most. */
  maxSize: number;
  /** Batches running at once at most. */
  maxInFlight: number;
  /**
   * Told, for each item of a batch as it starts, how long the item waited for it (seconds; a
   * retried item from its retry). Should it throw, the batch fails with its error.
   */
  observeWait?: (seconds: number) => void;
}

interface Waiting<I, O> {
  item: I;
  /** When it joined the queue (performance.now()). */
  queuedAt: number;
  resolve: (value: O) => void;
  reject: (error: unknown) => void;
}

export class Batcher<I, O> {
  private readonly queue: Waiting<I, O>[] = [];
  private inFlight = 0;

  /**
   * `run` gets the items of one batch and returns one outcome per item, in their order. If it
   * throws, every item of the batch fails with that error.
   */
  constructor(
    private readonly run: (items: I[]) => Promise<BatchOutcome<O>[]>,
    private readonly options: BatcherOptions,
  ) {
    if (!(options.maxSize >= 1 && options.maxInFlight >= 1)) {
      throw new Error('a batcher needs maxSize >= 1 and maxInFlight >= 1');
    }
  }

  submit(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.queue.push({ item, queuedAt: performance.now(), resolve, reject });
      this.drain();
    });
  }

  private drain(): void {
    while (this.inFlight < this.options.maxInFlight && this.queue.length > 0) {
      const batch = this.queue.splice(0, this.options.maxSize);
      this.inFlight += 1;
      void this.runBatch(batch).finally(() => {
        this.inFlight -= 1;
        this.drain();
      });
    }
  }

  private async runBatch(batch: Waiting<I, O>[]): Promise<void> {
    let outcomes: BatchOutcome<O>[];
    try {
      const { observeWait } = this.options;
      if (observeWait) {
        const now = performance.now();
        for (const waiting of batch) observeWait((now - waiting.queuedAt) / 1000);
      }
      outcomes = await this.run(batch.map((waiting) => waiting.item));
      if (outcomes.length !== batch.length) {
        throw new Error(`a batch of ${batch.length} got ${outcomes.length} outcomes`);
      }
    } catch (error) {
      for (const waiting of batch) waiting.reject(error);
      return;
    }
    const again: Waiting<I, O>[] = [];
    // Every item gets exactly one answer, even where the handler left a hole.
    for (let index = 0; index < batch.length; index += 1) {
      const waiting = batch[index];
      const outcome = outcomes[index] as BatchOutcome<O> | undefined;
      if (outcome === undefined || outcome === null) {
        waiting.reject(new Error(`no outcome for item ${index} of a batch of ${batch.length}`));
      } else if ('retry' in outcome) again.push(waiting);
      else if (outcome.ok) waiting.resolve(outcome.value);
      else waiting.reject(outcome.error);
    }
    // Retried items go first, ahead of later arrivals; their wait counts from now.
    const now = performance.now();
    for (const waiting of again) waiting.queuedAt = now;
    this.queue.unshift(...again);
  }
}
