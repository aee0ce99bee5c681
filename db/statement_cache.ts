import type { InArgs, InStatement, InValue, ResultSet, Row } from "@libsql/client";
import { LibsqlError } from "@libsql/client/sqlite3";
import { ResultSetImpl } from "@libsql/core/util";
import { argumentsKey, isCacheableRead, type ReadCache } from "./read_cache.ts";

/** The parts of a `libsql` (npm) Database connection this module uses. */
export interface NativeConnection {
  prepare(sql: string): NativeStatement;
}

interface NativeStatement {
  safeIntegers(on: boolean): void;
  raw(on: boolean): void;
  columns(): { name: string; type?: string | null }[];
  all(args: unknown): unknown[];
  get(args: unknown): unknown;
  run(args: unknown): { changes: number; lastInsertRowid: number | bigint };
}

/** Statements kept per connection at most; the oldest prepared is finalized first. */
const MAX_STATEMENTS = 256;

interface Prepared {
  statement: NativeStatement;
  /** Whether the statement returns rows (raw() throws for one that does not). */
  reader: boolean;
  /** Whether its results may be kept in the read cache (a plain SELECT; see read_cache.ts). */
  cacheable: boolean;
  /** Whether it ends `LIMIT ?`: with a last argument of 1 it returns at most one row. */
  limitLast: boolean;
  columns: string[];
  columnTypes: string[];
  makeRow: (values: unknown[]) => Row;
}

// drizzle renders `.limit(1)` as a trailing `limit ?` bound to 1.
const LIMIT_LAST = /\blimit \?\s*$/i;

/** True for the argument 1, as a number or a bigint. */
const isOne = (value: unknown) => value === 1 || value === 1n;

/**
 * Runs statements on one connection as @libsql/client 0.18's sqlite3 `executeStmt` does (same
 * argument conversion, safe integers as numbers or RangeError, the same ResultSet and errors),
 * but prepares each SQL text once per connection, reads its column metadata once, and builds rows
 * from a class made per statement: libsql-client prepares, reads the columns twice and defines
 * every row property one by one on each execution, which was ~40% of a capture read. The cache
 * belongs to one connection; a replaced connection starts a new one. With `reads`, plain SELECTs
 * are answered from it while `PRAGMA data_version` stays put, and every other statement clears it
 * first (db/read_cache.ts).
 */
export function createStatementCache(connection: NativeConnection, reads?: ReadCache) {
  const prepared = new Map<string, Prepared>();
  let versionStatement: NativeStatement | undefined;

  /** PRAGMA data_version now: it changes when another connection or process commits. */
  function dataVersion(): unknown {
    if (!versionStatement) {
      versionStatement = connection.prepare("PRAGMA data_version");
      versionStatement.raw(true);
    }
    return (versionStatement.get([]) as unknown[])[0];
  }

  function prepare(sql: string): Prepared {
    let entry = prepared.get(sql);
    if (entry) return entry;
    const statement = connection.prepare(sql);
    statement.safeIntegers(true);
    let reader = true;
    try {
      statement.raw(true);
    } catch {
      reader = false;
    }
    const described = reader ? statement.columns() : [];
    const columns = described.map((column) => column.name);
    entry = {
      statement,
      reader,
      cacheable: reader && isCacheableRead(sql),
      limitLast: reader && LIMIT_LAST.test(sql),
      columns,
      columnTypes: described.map((column) => column.type ?? ""),
      makeRow: rowClass(columns),
    };
    if (prepared.size >= MAX_STATEMENTS) prepared.delete(prepared.keys().next().value!);
    prepared.set(sql, entry);
    return entry;
  }

  /** Runs `stmt` on its prepared statement; `useReads` false leaves the read cache alone. */
  function run(stmt: InStatement, useReads: boolean): ResultSet {
    const sql = typeof stmt === "string" ? stmt : stmt.sql;
    const args = typeof stmt === "string" ? [] : argsToSql(stmt.args);
    try {
      const entry = prepare(sql);
      const key = useReads && reads && entry.cacheable ? argumentsKey(args) : undefined;
      if (key !== undefined) {
        reads!.observe(dataVersion());
        const kept = reads!.get(sql, key);
        if (kept) return kept;
      } else if (useReads && !entry.cacheable) {
        // Anything but a plain SELECT may write (RETURNING, PRAGMA, BEGIN … COMMIT).
        reads?.clear();
      }
      if (entry.reader) {
        // raw(true): every row is an array of column values. At most one row: get(), since all()
        // makes a native row iterator per call (~5 µs more, and native memory kept until V8
        // collects its wrapper).
        const found = entry.limitLast && Array.isArray(args) && isOne(args.at(-1))
          ? [entry.statement.get(args) as unknown[] | undefined].filter((row) => row !== undefined)
          : entry.statement.all(args) as unknown[][];
        const rows = (found as unknown[][]).map((values) => {
          for (let i = 0; i < values.length; i++) values[i] = valueFromSql(values[i]);
          return entry.makeRow(values);
        });
        const result = new ResultSetImpl(entry.columns, entry.columnTypes, rows, 0, undefined);
        return key === undefined ? result : reads!.set(sql, key, result);
      }
      const info = entry.statement.run(args);
      return new ResultSetImpl([], [], [], info.changes, BigInt(info.lastInsertRowid));
    } catch (error) {
      throw toLibsqlError(error);
    }
  }

  return {
    /**
     * Runs a statement that returns no rows and changes no stored data (SAVEPOINT, RELEASE):
     * prepared once, no ResultSet built, the read cache left as it is. Throws as `execute` does.
     */
    control(sql: string): void {
      try {
        prepare(sql).statement.run([]);
      } catch (error) {
        throw toLibsqlError(error);
      }
    },
    /** Executes one statement; throws LibsqlError (code SQLITE_…) like the client's execute. */
    execute(stmt: InStatement): ResultSet {
      return run(stmt, true);
    },
    /**
     * Executes one statement that changes no data (a SELECT, or BEGIN/COMMIT/ROLLBACK around only
     * SELECTs) on its prepared statement, neither answered from the read cache nor clearing it:
     * for reads that must reach the file (the /health ping). Throws as `execute` does.
     */
    executeUncached(stmt: InStatement): ResultSet {
      return run(stmt, false);
    },
  };
}

/**
 * A row class for one column list: named values as own enumerable properties (the first of a
 * repeated name wins, as in libsql-client), positions and `length` as prototype getters.
 */
function rowClass(columns: string[]): (values: unknown[]) => Row {
  const named: [string, number][] = [];
  for (const [index, name] of columns.entries()) {
    if (!named.some(([seen]) => seen === name)) named.push([name, index]);
  }
  class ResultRow {
    // Private: not a key, not spread, not in JSON; only the position getters below read it.
    #values: unknown[];
    constructor(values: unknown[]) {
      this.#values = values;
      const self = this as unknown as Record<string, unknown>;
      for (const [name, index] of named) self[name] = values[index];
    }
    static at(row: ResultRow, index: number) {
      return row.#values[index];
    }
  }
  for (let i = 0; i < columns.length; i++) {
    Object.defineProperty(ResultRow.prototype, i, {
      get(this: ResultRow) {
        return ResultRow.at(this, i);
      },
    });
  }
  Object.defineProperty(ResultRow.prototype, "length", { value: columns.length });
  return (values) => new ResultRow(values) as unknown as Row;
}

const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER);
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

function valueFromSql(value: unknown): unknown {
  if (typeof value === "bigint") {
    if (value < MIN_SAFE || value > MAX_SAFE) {
      throw new RangeError(
        "Received integer which cannot be safely represented as a JavaScript number",
      );
    }
    return Number(value);
  }
  // libsql-client answers a blob with its Buffer's whole ArrayBuffer.
  if (value instanceof Uint8Array) return value.buffer;
  return value;
}

const MIN_INTEGER = -9223372036854775808n;
const MAX_INTEGER = 9223372036854775807n;

function argsToSql(args: InArgs | undefined): unknown {
  if (args === undefined) return [];
  if (Array.isArray(args)) return args.map(valueToSql);
  const named: Record<string, unknown> = {};
  for (const name in args) {
    const key = name[0] === "@" || name[0] === "$" || name[0] === ":" ? name.substring(1) : name;
    named[key] = valueToSql(args[name]);
  }
  return named;
}

function valueToSql(value: InValue | undefined): unknown {
  if (typeof value === "number") {
    if (!Number.isFinite(value)) {
      throw new RangeError("Only finite numbers (not Infinity or NaN) can be passed as arguments");
    }
    return value;
  }
  if (typeof value === "bigint") {
    if (value < MIN_INTEGER || value > MAX_INTEGER) {
      throw new RangeError(
        "bigint is too large to be represented as a 64-bit integer and passed as argument",
      );
    }
    return value;
  }
  if (typeof value === "boolean") return value ? 1 : 0;
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  if (value instanceof Date) return value.valueOf();
  if (value === undefined) {
    throw new TypeError("undefined cannot be passed as argument to the database");
  }
  return value;
}

// SQLite's primary result codes 1-28, as libsql-client names them.
const BASE_CODES = [
  "ERROR",
  "INTERNAL",
  "PERM",
  "ABORT",
  "BUSY",
  "LOCKED",
  "NOMEM",
  "READONLY",
  "INTERRUPT",
  "IOERR",
  "CORRUPT",
  "NOTFOUND",
  "FULL",
  "CANTOPEN",
  "PROTOCOL",
  "EMPTY",
  "SCHEMA",
  "TOOBIG",
  "CONSTRAINT",
  "MISMATCH",
  "MISUSE",
  "NOLFS",
  "AUTH",
  "FORMAT",
  "RANGE",
  "NOTADB",
  "NOTICE",
  "WARNING",
];

/** libsql's SqliteError as libsql-client maps it: base code, extended code, raw code, cause. */
function toLibsqlError(error: unknown): unknown {
  if (!(error instanceof Error) || error.name !== "SqliteError") return error;
  const { code, rawCode } = error as Error & { code?: string; rawCode?: number };
  const base = rawCode === undefined
    ? "SQLITE_UNKNOWN"
    : BASE_CODES[(rawCode & 0xff) - 1] !== undefined
    ? `SQLITE_${BASE_CODES[(rawCode & 0xff) - 1]}`
    : `SQLITE_UNKNOWN_${rawCode & 0xff}`;
  return new LibsqlError(error.message, base, code, rawCode, error);
}
