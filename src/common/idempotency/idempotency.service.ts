/**
 * Idempotency for money-moving requests. The first response to a key is stored in the same
 * database transaction as the work, so a key exists if and only if its work committed. A retry
 * (or a concurrent duplicate) runs into the stored key and gets the first response back; the same
 * key with another request body is refused.
 */
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { CommonErrorCode, commonError } from '../errors/domain.exception';

export interface IdempotentRequest {
  /** Whose key it is: keys of different principals never collide. */
  scope: string;
  key: string;
  /** Hash of method, route and body: the same key must come with the same request. */
  fingerprint: string;
  /** The status the route answers with; stored with the body. */
  statusCode: number;
}

interface StoredResponse {
  fingerprint: string;
  response: unknown;
}

@Injectable()
export class IdempotencyService {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /**
   * Runs `work` in one database transaction. With an idempotency key, the response is stored in
   * that transaction; when the key is already taken (a retry, or a duplicate that won a race) the
   * work is rolled back and the stored response returned instead.
   */
  async execute<T>(
    request: IdempotentRequest | undefined,
    work: (manager: EntityManager) => Promise<T>,
  ): Promise<T> {
    if (!request) return this.dataSource.transaction(work);
    try {
      return await this.dataSource.transaction(async (manager) => {
        const response = await work(manager);
        await manager.query(
          `INSERT INTO idempotency_keys (scope, key, fingerprint, status_code, response)
           VALUES ($1, $2, $3, $4, $5)`,
          [
            request.scope,
            request.key,
            request.fingerprint,
            request.statusCode,
            JSON.stringify(response ?? null),
          ],
        );
        return response;
      });
    } catch (error) {
      // Whatever failed (the key insert, or the work because a duplicate already did it), a
      // committed response under this key is the answer.
      const stored = await this.find(request);
      if (!stored) throw error;
      if (stored.fingerprint !== request.fingerprint) {
        throw commonError(
          CommonErrorCode.IDEMPOTENCY_KEY_REUSED,
          'This Idempotency-Key was already used for a different request.',
        );
      }
      return stored.response as T;
    }
  }

  private async find(request: IdempotentRequest): Promise<StoredResponse | undefined> {
    const rows: StoredResponse[] = await this.dataSource.query(
      'SELECT fingerprint, response FROM idempotency_keys WHERE scope = $1 AND key = $2',
      [request.scope, request.key],
    );
    return rows[0];
  }
}
