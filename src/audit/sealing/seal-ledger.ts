/**
 * SealLedger: appends hash-chained blocks over the committed ledger transactions, in the
 * background (a repeatable job), so that no money-moving request waits on the chain. Each block
 * is its own database transaction holding a transaction-level advisory lock: two workers never
 * seal concurrently, and a crash loses at most the block being written.
 */
import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { SealedBlock, sealNextBlock, sqlOf } from './chain';
import { SEALING_CONFIG, SealingConfig } from './sealing.config';

/** pg advisory lock key of the sealer ("SEAL" in ASCII). */
export const SEAL_LOCK_KEY = 0x5345414c;

export interface SealSummary {
  blocks: number;
  transactions: number;
  postings: number;
  head: SealedBlock | null;
  /** Another worker held the sealing lock; this run sealed nothing more. */
  busy: boolean;
}

@Injectable()
export class SealLedger {
  private readonly logger = new Logger(SealLedger.name);

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(SEALING_CONFIG) private readonly config: SealingConfig,
  ) {}

  /** Seals what is ready, block by block; options override the configuration (tests, bench). */
  async run(options: Partial<SealingConfig> = {}): Promise<SealSummary> {
    const config = { ...this.config, ...options };
    const summary: SealSummary = {
      blocks: 0,
      transactions: 0,
      postings: 0,
      head: null,
      busy: false,
    };
    const runner = this.dataSource.createQueryRunner();
    await runner.connect();
    try {
      const sql = sqlOf(runner);
      while (summary.blocks < config.maxBlocksPerRun) {
        await runner.startTransaction('READ COMMITTED');
        let block: SealedBlock | null = null;
        try {
          const [{ locked }] = (await sql('SELECT pg_try_advisory_xact_lock($1) AS locked', [
            SEAL_LOCK_KEY,
          ])) as { locked: boolean }[];
          if (locked) block = await sealNextBlock(sql, config);
          else summary.busy = true;
          await runner.commitTransaction();
        } catch (error) {
          await runner.rollbackTransaction();
          throw error;
        }
        if (!block) break;
        summary.blocks += 1;
        summary.transactions += block.transactionCount;
        summary.postings += block.postingCount;
        summary.head = block;
        if (block.transactionCount < config.blockSize) break;
      }
    } finally {
      await runner.release();
    }
    if (summary.blocks > 0) {
      this.logger.log(
        {
          blocks: summary.blocks,
          transactions: summary.transactions,
          height: summary.head?.height,
        },
        'sealed ledger transactions',
      );
    }
    return summary;
  }
}
