import type { EntityManager } from 'typeorm';

/**
 * Runs a named statement: node-postgres prepares it once per pooled connection, so PostgreSQL
 * neither parses nor (after its first runs) plans it again. A name must always carry the same
 * text. TypeORM hands the query object to node-postgres as it is, and still wraps its errors in
 * QueryFailedError.
 */
export function queryPrepared<T>(
  manager: EntityManager,
  name: string,
  text: string,
  parameters: unknown[],
): Promise<T> {
  return manager.query({ name, text } as unknown as string, parameters);
}
