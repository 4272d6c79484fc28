/**
 * How the ledger is sealed. The hash algorithm comes from the application configuration when it
 * names one (`ledgerHashAlgorithm`, from LEDGER_HASH_ALGORITHM) and is SM3 otherwise.
 */
import type { AppConfig } from '../../config/config';
import { DEFAULT_HASH_ALGORITHM, HashAlgorithm, isHashAlgorithm } from './hashing';

export interface SealingConfig {
  algorithm: HashAlgorithm;
  /** Most transactions in one block. */
  blockSize: number;
  /** Most blocks one run seals; the next run goes on from there. */
  maxBlocksPerRun: number;
  /** How often the background job runs. */
  everyMs: number;
}

export const SEALING_CONFIG = Symbol('SEALING_CONFIG');

export const DEFAULT_SEALING_CONFIG: SealingConfig = {
  algorithm: DEFAULT_HASH_ALGORITHM,
  blockSize: 1_000,
  maxBlocksPerRun: 1_000,
  everyMs: 10_000,
};

export function sealingConfigFrom(config: AppConfig): SealingConfig {
  const configured: unknown = config.ledgerHashAlgorithm;
  if (configured !== undefined && !isHashAlgorithm(configured)) {
    throw new Error(`ledgerHashAlgorithm must be sm3 or sha256, got ${JSON.stringify(configured)}`);
  }
  return { ...DEFAULT_SEALING_CONFIG, algorithm: configured ?? DEFAULT_SEALING_CONFIG.algorithm };
}
