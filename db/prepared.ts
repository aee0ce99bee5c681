import type { InValue, ResultSet } from "@libsql/client";
import { type Column, is, Param, Placeholder, type SQL, sql } from "drizzle-orm";
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

/** A built query's SQL and how to fill its arguments from named values (see compileFill). */
interface Compiled {
  sql: string;
  fill: (values: Record<string, unknown>) => InValue[];
}

/**
 * drizzle's fillPlaceholders(params, values), decided once per query: which params are
 * placeholders (and through which encoder) is fixed when the query is built, and drizzle's `is()`
 * walks each param's prototype chain on every call (~5 µs of a POST's 34 arguments). Same
 * values, same error for a missing one.
 */
export function compileFill(params: unknown[]): (values: Record<string, unknown>) => InValue[] {
  const fillers = params.map((p): (values: Record<string, unknown>) => unknown => {
    if (is(p, Placeholder)) return (values) => valueOf(values, p.name);
    if (is(p, Param) && is(p.value, Placeholder)) {
      const { encoder } = p;
      const { name } = p.value;
      return (values) => encoder.mapToDriverValue(valueOf(values, name));
    }
    return () => p;
  });
  return (values) => {
    const args = new Array<InValue>(fillers.length);
    for (let i = 0; i < fillers.length; i++) args[i] = fillers[i](values) as InValue;
    return args;
  };
}

function valueOf(values: Record<string, unknown>, name: string): unknown {
  if (!(name in values)) throw new Error(`No value for placeholder "${name}" was provided`);
  return values[name];
}

const compiled = (query: BuiltQuery): Compiled => {
  const { sql, params } = query.toSQL();
  return { sql, fill: compileFill(params) };
};

/**
 * A read built once with drizzle's builder and run straight on the libSQL client: each row is the
 * client's own row object, its properties named by the query's column aliases (see `aliased`),
 * so drizzle does not copy and decode every value again (~17% of a 50-row list). Only for columns
 * drizzle would not change: integers in number mode and text.
 */
export function plainRows<T, V extends Record<string, InValue>>(
  build: (db: Database) => BuiltQuery,
): (db: Database, values: V) => Promise<T[]> {
  const built = preparedPerDatabase((db) => compiled(build(db)));
  return async (db, values) => {
    const query = built(db);
    const { rows } = await db.$client.execute({ sql: query.sql, args: query.fill(values) });
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
  const built = preparedPerDatabase((db) => compiled(build(db)));
  return async (db, values) => {
    const query = built(db);
    return await db.$client.execute({ sql: query.sql, args: query.fill(values) });
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
