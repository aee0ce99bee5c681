import type { ResultSet } from "@libsql/client";

/** Entries kept at most (one per distinct SELECT text and argument list). */
const MAX_ENTRIES = 4_096;
/** Estimated bytes kept at most; past it the oldest entries are dropped. */
const MAX_BYTES = 8 * 1024 * 1024;
/** A result of more rows than this is not kept: it would push out many small hot ones. */
const MAX_ROWS = 500;

// Only a plain SELECT whose answer is a function of the stored data and its arguments: a write
// with RETURNING, a PRAGMA, or a SELECT calling a function that depends on anything else (the
// clock, randomness, the connection's last write) is never kept.
const PLAIN_SELECT = /^\s*select\b/i;
// A function name may be quoted ("random", `random`, [random]) and followed by a comment before its
// parenthesis; SQL with a comment anywhere is not kept at all, so none can hide a call.
const NOT_DATA_FUNCTIONS = [
  "random",
  "randomblob",
  "date",
  "time",
  "datetime",
  "julianday",
  "unixepoch",
  "strftime",
  "timediff",
  "changes",
  "total_changes",
  "last_insert_rowid",
  "sqlite_\\w+",
  "load_extension",
];
const NOT_A_FUNCTION_OF_THE_DATA = new RegExp(
  `["\`[]?\\b(${NOT_DATA_FUNCTIONS.join("|")})\\b["\`\\]]?\\s*\\(` +
    "|\\bcurrent_(date|time|timestamp)\\b|/\\*|--",
  "i",
);

/** True when `sql` may be answered from a kept result (see createReadCache). */
export function isCacheableRead(sql: string): boolean {
  return PLAIN_SELECT.test(sql) && !NOT_A_FUNCTION_OF_THE_DATA.test(sql);
}

/**
 * The key of an argument list of plain values (typed, so 1 and "1" differ), or undefined when an
 * argument is anything else (a blob, named arguments), which is then not kept.
 */
export function argumentsKey(args: unknown): string | undefined {
  if (!Array.isArray(args)) return undefined;
  let key = "";
  for (const value of args) {
    const type = typeof value;
    if (type === "string") key += "s" + (value as string).length + ":" + value;
    // A number binds as REAL and a bigint as INTEGER: 1 and 1n are different reads.
    else if (type === "number") key += "n" + String(value) + ";";
    else if (type === "bigint") key += "i" + String(value) + ";";
    else if (value === null) key += "z;";
    else return undefined;
  }
  return key;
}

/** What a kept result costs, roughly: its values' sizes plus an overhead per row and value. */
function estimatedBytes(result: ResultSet): number {
  let bytes = 64;
  for (const row of result.rows) {
    bytes += 32;
    for (let i = 0; i < row.length; i++) {
      const value = row[i];
      bytes += 16 + (typeof value === "string" ? value.length * 2 : 8);
    }
  }
  return bytes;
}

/**
 * Results of plain SELECTs kept by the process that read them, for one database connection, and
 * answered again while the database is unchanged: `observe(dataVersion)` before every lookup
 * drops everything once SQLite's `PRAGMA data_version` moved (another connection or process
 * committed; https://sqlite.org/pragma.html#pragma_data_version), and the client calls `clear()`
 * on every statement of its own that may write (data_version ignores its own connection's
 * commits) and when it replaces the connection. Kept results are frozen, since every later
 * request gets the same objects. Bounded by entries and estimated bytes, oldest dropped first.
 */
export function createReadCache() {
  // One map per SQL text, so a lookup hashes the short argument key, not the long SQL again.
  const bySql = new Map<string, Map<string, { result: ResultSet; bytes: number }>>();
  // Insertion order of every entry, for dropping the oldest: [sql, key].
  const order: Array<[string, string]> = [];
  let orderStart = 0;
  let entries = 0;
  let bytes = 0;
  let dataVersion: unknown = undefined;

  /** Drops every entry; the data version seen stays. */
  function dropAll() {
    if (entries === 0 && order.length === 0) return;
    bySql.clear();
    order.length = 0;
    orderStart = 0;
    entries = 0;
    bytes = 0;
  }

  function dropOldest() {
    while (orderStart < order.length && (entries > MAX_ENTRIES || bytes > MAX_BYTES)) {
      const [sql, key] = order[orderStart++];
      const forSql = bySql.get(sql);
      const entry = forSql?.get(key);
      if (!forSql || !entry) continue;
      forSql.delete(key);
      if (forSql.size === 0) bySql.delete(sql);
      entries--;
      bytes -= entry.bytes;
    }
    if (orderStart > 1024 && orderStart * 2 > order.length) {
      order.splice(0, orderStart);
      orderStart = 0;
    }
  }

  return {
    /** Drops everything unless `version` (PRAGMA data_version, read just now) is the last seen. */
    observe(version: unknown) {
      if (version !== dataVersion) {
        dropAll();
        dataVersion = version;
      }
    },
    /** The kept result of `sql` with the arguments of `key`, if any. */
    get(sql: string, key: string): ResultSet | undefined {
      return bySql.get(sql)?.get(key)?.result;
    },
    /** Keeps `result` (frozen, with its rows) and answers it; larger results are not kept. */
    set(sql: string, key: string, result: ResultSet): ResultSet {
      if (result.rows.length > MAX_ROWS) return result;
      for (const row of result.rows) Object.freeze(row);
      Object.freeze(result.rows);
      Object.freeze(result.columns);
      Object.freeze(result);
      const size = estimatedBytes(result) + key.length * 2;
      let forSql = bySql.get(sql);
      if (!forSql) bySql.set(sql, forSql = new Map());
      const previous = forSql.get(key);
      if (previous) {
        bytes -= previous.bytes;
        entries--;
      }
      forSql.set(key, { result, bytes: size });
      order.push([sql, key]);
      entries++;
      bytes += size;
      if (entries > MAX_ENTRIES || bytes > MAX_BYTES) dropOldest();
      return result;
    },
    /** Drops everything and forgets the data version (a write of our own, a new connection). */
    clear() {
      dropAll();
      dataVersion = undefined;
    },
    /** Entries and estimated bytes kept now (for tests and diagnostics). */
    get size() {
      return { entries, bytes };
    },
  };
}

/** A per-connection read cache (see createReadCache). */
export type ReadCache = ReturnType<typeof createReadCache>;
