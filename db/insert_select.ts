import type { InValue } from "@libsql/client";
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
    const value = chosen(column, (given as Record<string, unknown>)[key]);
    selection[key] = is(value, Column)
      ? value as AnySQLiteColumn
      : sql`${is(value, SQL) ? value : sql.param(value, column)}`.as(column.name);
  }
  return selection as InsertSelection<T>;
}

/** What insertSelection selects for `column`: the given value, else its default, else NULL. */
function chosen(column: Column, given: unknown): unknown {
  return given ?? column.defaultFn?.() ?? column.default ?? null;
}

/**
 * The row an `INSERT INTO table SELECT …` of insertSelection(table, …) stored, without reading it
 * back: `values` holds what its placeholders and column references were (the values bound, and
 * for a column taken from another table the value the WHERE made it equal to); other columns take
 * their defaults as insertSelection does, and the primary key is `rowid` when none was given.
 * libsql reads a RETURNING row through an iterator that costs ~15 µs more than running the
 * statement. Throws for a column left to a default only SQLite or the statement's build knows (an
 * SQL default, a default function), so such a column cannot slip in unnoticed.
 */
export function insertedRow<T extends SQLiteTable>(
  table: T,
  values: Record<string, InValue | undefined>,
  rowid: number,
): T["$inferSelect"] {
  const row: Record<string, unknown> = {};
  for (const { key, name, fallback, primary } of columnPlan(table)) {
    const given = values[key];
    if (given != null) {
      row[key] = given;
    } else if (fallback === KNOWN_ONLY_TO_SQLITE) {
      throw new Error(`insertedRow: only SQLite knows the value of ${name}; use RETURNING`);
    } else {
      row[key] = fallback === null && primary ? rowid : fallback;
    }
  }
  return row as T["$inferSelect"];
}

const KNOWN_ONLY_TO_SQLITE = Symbol("known only to SQLite");

interface ColumnPlan {
  key: string;
  name: string;
  /** The value insertSelection selects when none is given (its default, else NULL). */
  fallback: unknown;
  primary: boolean;
}

// Columns and their defaults are fixed when the table is defined: read them once per table.
const plans = new WeakMap<SQLiteTable, ColumnPlan[]>();

function columnPlan(table: SQLiteTable): ColumnPlan[] {
  let plan = plans.get(table);
  if (plan === undefined) {
    plan = Object.entries(getTableColumns(table)).map(([key, column]) => {
      const fallback = column.defaultFn ? KNOWN_ONLY_TO_SQLITE : column.default ?? null;
      return {
        key,
        name: column.name,
        fallback: is(fallback, SQL) || is(fallback, Column) ? KNOWN_ONLY_TO_SQLITE : fallback,
        primary: column.primary,
      };
    });
    plans.set(table, plan);
  }
  return plan;
}
