import type { InValue, ResultSet } from "@libsql/client";
import { type Column, fillPlaceholders, type SQL, sql } from "drizzle-orm";
import type { Database } from "./client.ts";

/**
 * Memoises what `build` makes per database: a prepared statement (drizzle otherwise rebuilds the
 * SQL on every call, which was ~40% of a capture read) or a cache of that database's answers.
 * Keyed by the database so nothing outlives it.
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

/** A query built by drizzle, with sql.placeholder()s for its values. */
interface BuiltQuery {
  toSQL(): { sql: string; params: unknown[] };
}

/**
 * A read built once with drizzle's builder and run straight on the libSQL client: each row is the
 * client's own row object, its properties named by the query's column aliases (see `aliased`),
 * so drizzle does not copy and decode every value again (~17% of a 50-row list). Only for columns
 * drizzle would not change: integers in number mode and text.
 */
export function plainRows<T, V extends Record<string, InValue>>(
  build: (db: Database) => BuiltQuery,
): (db: Database, values: V) => Promise<T[]> {
  const built = preparedPerDatabase((db) => build(db).toSQL());
  return async (db, values) => {
    const query = built(db);
    const args = fillPlaceholders(query.params, values) as InValue[];
    const { rows } = await db.$client.execute({ sql: query.sql, args });
    return rows as unknown as T[];
  };
}

/**
 * A write built once with drizzle's builder and run straight on the libSQL client, as plainRows
 * runs a read; resolves to the client's ResultSet (rowsAffected, lastInsertRowid).
 */
export function plainWrite<V extends Record<string, InValue>>(
  build: (db: Database) => BuiltQuery,
): (db: Database, values: V) => Promise<ResultSet> {
  const built = preparedPerDatabase((db) => build(db).toSQL());
  return async (db, values) => {
    const query = built(db);
    const args = fillPlaceholders(query.params, values) as InValue[];
    return await db.$client.execute({ sql: query.sql, args });
  };
}

/** Columns selected under their field names, so a plainRows row has exactly these keys. */
export function aliased<C extends Record<string, Column>>(
  columns: C,
): { [K in keyof C]: SQL.Aliased<C[K]["_"]["data"]> } {
  return Object.fromEntries(
    Object.entries(columns).map(([name, column]) => [name, sql`${column}`.as(name)]),
  ) as { [K in keyof C]: SQL.Aliased<C[K]["_"]["data"]> };
}
