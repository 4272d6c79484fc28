/**
 * Idempotency for money-moving requests. The first response to a key is stored in the same
 * database transaction as the work, so a key exists if and only if its work committed. A retry
 * (or a concurrent duplicate) runs into the stored key and gets the first response back; the same
 * key with another request body is refused.
 */
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { binder } from '../../database/binder';
import { queryPrepared } from '../../database/query-prepared';
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

export interface StoredResponse {
  fingerprint: string;
  response: unknown;
}

/** A response to store under its request's key. */
export interface StoredEntry {
  request: IdempotentRequest;
  response: unknown;
}

/**
 * The INSERT storing the responses in `rows` (a table expression with the columns scope, key,
 * fingerprint, status_code and response), for a statement that also does their work. Returns the
 * stored (scope, key); a key already taken fails the statement.
 */
export function storeResponsesSql(rows: string): string {
  return `INSERT INTO idempotency_keys (scope, key, fingerprint, status_code, response)
    SELECT scope, key, fingerprint, status_code, response FROM ${rows}
    RETURNING scope, key`;
}

const FIND = `SELECT scope, key, fingerprint, response FROM idempotency_keys
  WHERE (scope, key) IN (SELECT * FROM unnest($1::text[], $2::text[]))`;

/** One string per (scope, key): what identifies a stored response. */
export const idempotencyIdentity = (request: Pick<IdempotentRequest, 'scope' | 'key'>) =>
  `${request.scope}\n${request.key}`;

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
        await this.store(manager, [{ request, response }]);
        return response;
      });
    } catch (error) {
      // Whatever failed (the key insert, or the work because a duplicate already did it), a
      // committed response under this key is the answer.
      const stored = (await this.findStored(this.dataSource.manager, [request])).get(
        idempotencyIdentity(request),
      );
      if (!stored) throw error;
      return this.replay<T>(request, stored);
    }
  }

  /**
   * Stores the responses of requests whose work is in `manager`'s transaction. A key already
   * taken fails the statement (and so the transaction).
   */
  async store(manager: EntityManager, entries: StoredEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const params: unknown[] = [];
    const bind = binder(params);
    const column = <T>(value: (entry: StoredEntry) => T) => bind(entries.map(value));
    const text = storeResponsesSql(`unnest(${column(({ request }) => request.scope)}::text[],
                ${column(({ request }) => request.key)}::text[],
                ${column(({ request }) => request.fingerprint)}::text[],
                ${column(({ request }) => request.statusCode)}::int[],
                ${column(({ response }) => JSON.stringify(response ?? null))}::json[])
      AS s(scope, key, fingerprint, status_code, response)`);
    await queryPrepared(manager, 'idempotency.store', text, params);
  }

  /** The stored responses of these requests' keys, by idempotencyIdentity. */
  async findStored(
    manager: EntityManager,
    requests: IdempotentRequest[],
  ): Promise<Map<string, StoredResponse>> {
    if (requests.length === 0) return new Map();
    const rows: (StoredResponse & { scope: string; key: string })[] = await queryPrepared(
      manager,
      'idempotency.find',
      FIND,
      [requests.map((request) => request.scope), requests.map((request) => request.key)],
    );
    return new Map(
      rows.map((row) => [
        idempotencyIdentity(row),
        { fingerprint: row.fingerprint, response: row.response },
      ]),
    );
  }

  /** The stored response for a repeated request; the same key with another request is refused. */
  replay<T>(request: IdempotentRequest, stored: StoredResponse): T {
    if (stored.fingerprint !== request.fingerprint) {
      throw commonError(
        CommonErrorCode.IDEMPOTENCY_KEY_REUSED,
        'This Idempotency-Key was already used for a different request.',
      );
    }
    return stored.response as T;
  }
}
