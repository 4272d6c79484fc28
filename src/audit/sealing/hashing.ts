/**
 * The hash functions a seal block may use: SM3 (GB/T 32905-2016, the national standard the bureau
 * expects) by default, SHA-256 as the alternative. Each block records its algorithm, so a chain
 * stays verifiable when the setting changes.
 */
import { Hash, createHash, getHashes } from 'node:crypto';

export const HASH_ALGORITHMS = ['sm3', 'sha256'] as const;
export type HashAlgorithm = (typeof HASH_ALGORITHMS)[number];

export const DEFAULT_HASH_ALGORITHM: HashAlgorithm = 'sm3';

/** 32 zero bytes: the previous hash of the first block. Both algorithms give 256-bit digests. */
export const GENESIS_HASH = '0'.repeat(64);

export function isHashAlgorithm(value: unknown): value is HashAlgorithm {
  return typeof value === 'string' && (HASH_ALGORITHMS as readonly string[]).includes(value);
}

/** A fresh incremental hash; throws when this Node's OpenSSL lacks the algorithm. */
export function newHash(algorithm: HashAlgorithm): Hash {
  if (!getHashes().includes(algorithm)) {
    throw new Error(`this Node.js build has no ${algorithm} hash (OpenSSL without it)`);
  }
  return createHash(algorithm);
}

export function digestHex(algorithm: HashAlgorithm, text: string): string {
  return newHash(algorithm).update(text, 'utf8').digest('hex');
}
