import type { Database } from "./client.ts";

/**
 * Memoises a prepared statement per database: drizzle otherwise rebuilds the SQL on every call,
 * which was ~40% of a capture read. Keyed by the database so nothing outlives it.
 */
export function preparedPerDatabase<T>(build: (db: Database) => T): (db: Database) => T {
  const cache = new WeakMap<Database, T>();
  return (db) => {
    let prepared = cache.get(db);
    if (prepared === undefined) {
      prepared = build(db);
      cache.set(db, prepared);
    }
    return prepared;
  };
}
