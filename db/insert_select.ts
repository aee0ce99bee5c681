import { Column, getTableColumns, is, type Placeholder, SQL, sql } from "drizzle-orm";
import type { AnySQLiteColumn, SQLiteTable } from "drizzle-orm/sqlite-core";

/**
 * What `INSERT … SELECT` may take for each column: a column, an SQL expression, a value, or a
 * placeholder for a value given when a prepared statement runs.
 */
export type InsertSelectValues<T extends SQLiteTable> = {
  [K in keyof T["$inferInsert"]]?: Column | SQL | Placeholder | T["$inferInsert"][K];
};

/** Every column of `T`, as `insertSelection` selects it. */
export type InsertSelection<T extends SQLiteTable> = {
  [K in keyof T["$inferInsert"]]-?: AnySQLiteColumn | SQL.Aliased;
};

/**
 * The selection of an `INSERT INTO table SELECT …`: every column of `table` in its declared order
 * (drizzle refuses any other), each `given`'s column, SQL or value, else the column's default,
 * else NULL. Built from the table's own columns, so a column added later inserts its default
 * instead of making every insert throw.
 */
export function insertSelection<T extends SQLiteTable>(
  table: T,
  given: InsertSelectValues<T>,
): InsertSelection<T> {
  const selection: Record<string, AnySQLiteColumn | SQL.Aliased> = {};
  for (const [key, column] of Object.entries(getTableColumns(table))) {
    const value: unknown = (given as Record<string, unknown>)[key] ??
      column.defaultFn?.() ?? column.default ?? null;
    selection[key] = is(value, Column)
      ? value as AnySQLiteColumn
      : sql`${is(value, SQL) ? value : sql.param(value, column)}`.as(column.name);
  }
  return selection as InsertSelection<T>;
}
