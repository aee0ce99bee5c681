import type {
  Client,
  InArgs,
  InStatement,
  ResultSet,
  Transaction,
  TransactionMode,
} from "@libsql/client";
import {
  ConnectionPool,
  LibsqlBatchError,
  LibsqlError,
  Sqlite3Client,
} from "@libsql/client/sqlite3";
import { transactionModeToBegin } from "@libsql/core/util";
import { expandConfig, isInMemoryConfig } from "@libsql/core/config";
import { DatabaseBusyError, isBusyError } from "./errors.ts";
import { Lock } from "./lock.ts";
import { createStatementCache } from "./statement_cache.ts";
import { createReadCache } from "./read_cache.ts";

/**
 * How long SQLite's own busy handler may wait for another process's lock, in ms. It sleeps on the
 * JS thread, so it stays short; longer waits happen asynchronously between attempts.
 */
const DRIVER_BUSY_TIMEOUT_MS = 10;
/** How long one operation keeps retrying a locked database before it is refused, in ms. */
export const DEFAULT_BUSY_BUDGET_MS = 5_000;
/**
 * How many writes may wait behind a write that is backing off from another process's lock; past
 * it a write is refused at once, so waiting writes cannot take every request slot from reads.
 */
export const MAX_WAITING_WRITES = 32;
/**
 * A data change within this many ms of the last write waits for the end of the event loop's turn
 * to commit with the others arriving meanwhile (group commit); later, it runs at once.
 */
const GROUP_AFTER_WRITE_MS = 2;
const FIRST_BACKOFF_MS = 5;
const MAX_BACKOFF_MS = 250;

/** Options of the guarded local client; every field has a default. */
export interface LocalClientOptions {
  /** Time one operation may spend waiting for other processes' write locks, in ms. */
  busyBudgetMs?: number;
  /** Statements run on every connection the client opens (per-connection pragmas). */
  setup?: string[];
}

/**
 * A libSQL client for `file:` and `:memory:` URLs that never acknowledges a write it did not
 * commit. @libsql/client 0.18 with the `libsql` 0.5.29 binding leaves a statement that failed
 * with SQLITE_BUSY in progress, and every later write on that connection then reports success
 * without committing (libsql-client-ts #352, libsql-js #237 and #238). So this client keeps one
 * connection, runs one operation at a time on it, replaces the connection as soon as an
 * operation fails with SQLITE_BUSY (the failed operation wrote nothing), and retries with
 * jittered backoff until `busyBudgetMs` is spent; then it throws DatabaseBusyError. Writes wait
 * in line behind a write that is backing off, so a held lock costs one attempt per backoff, not
 * one per waiting request; reads never wait behind writes (WAL serves them during a lock).
 */
export function createLocalClient(url: string, options: LocalClientOptions = {}): Client {
  const budgetMs = options.busyBudgetMs ?? DEFAULT_BUSY_BUDGET_MS;
  const setup = options.setup ?? [];
  const { pool, inner } = openPool(url);
  // Statements prepared on each connection (db/statement_cache.ts); a replaced connection is a
  // new object, so it starts with none.
  const statements = new WeakMap<object, ReturnType<typeof createStatementCache>>();
  // Results of plain SELECTs, answered again while nothing changed (db/read_cache.ts). Statements
  // that bypass the statement cache (batches, transactions, migrations) clear it themselves.
  const reads = createReadCache();
  const connection = new Lock();
  const writers = new Lock();
  let needsSetup = true;
  // Writes queued or running, and whether the last write attempt found another process's lock.
  let pendingWrites = 0;
  let locked = false;

  /** Runs the per-connection setup on a connection opened since the last call. */
  async function prepareConnection() {
    if (!needsSetup) return;
    for (const sql of setup) await inner.execute(sql);
    needsSetup = false;
  }

  /** Drops the connection (rolling back anything open on it); the next call opens a new one. */
  function replaceConnection() {
    // data_version is per connection: a new one's numbers say nothing about the old one's.
    reads.clear();
    inner.reconnect();
    needsSetup = true;
  }

  /** Runs `work` alone on the connection, configuring a new connection first. */
  async function exclusive<T>(work: () => Promise<T>): Promise<T> {
    const release = connection.tryAcquire() ?? await connection.acquire();
    try {
      if (needsSetup) await prepareConnection();
      return await work();
    } catch (error) {
      // Replaced before anyone else runs on it: the next statement there would look committed.
      if (isBusyError(error)) replaceConnection();
      throw error;
    } finally {
      release();
    }
  }

  /**
   * Runs `attempt` until it stops failing with SQLITE_BUSY, with full-jitter backoff; past
   * `deadline` (a performance.now() time) throws DatabaseBusyError. Each attempt must leave the
   * connection replaced after a BUSY.
   */
  async function retryBusy<T>(
    deadline: number,
    write: boolean,
    attempt: () => Promise<T>,
  ): Promise<T> {
    for (let n = 0;; n++) {
      try {
        const result = await attempt();
        if (write) locked = false;
        return result;
      } catch (error) {
        if (!isBusyError(error)) throw error;
        if (write) locked = true;
        const backoff = Math.random() * Math.min(MAX_BACKOFF_MS, FIRST_BACKOFF_MS * 2 ** n);
        if (performance.now() + backoff >= deadline) {
          throw new DatabaseBusyError(
            `The database stayed locked by another process for ${budgetMs} ms`,
            { cause: error },
          );
        }
        await new Promise((resolve) => setTimeout(resolve, backoff));
      }
    }
  }

  /** `exclusive(work)` retried while the database is locked; writes take their turn in line. */
  async function withRetry<T>(write: boolean, work: () => Promise<T>): Promise<T> {
    // The budget includes the wait in line, so a write queued behind a held lock gives up with it.
    const deadline = performance.now() + budgetMs;
    if (!write) return await retryBusy(deadline, false, () => exclusive(work));
    if (locked && pendingWrites >= MAX_WAITING_WRITES) {
      throw new DatabaseBusyError(
        `The database is locked by another process and ${pendingWrites} writes already wait`,
      );
    }
    pendingWrites++;
    const releaseWriters = await writers.acquire();
    try {
      return await retryBusy(deadline, true, () => exclusive(work));
    } finally {
      releaseWriters();
      pendingWrites--;
    }
  }

  /**
   * One statement on the pool's only connection, through its prepared statements. Runs while the
   * connection lock is held, so the connection is idle in the pool and borrowing it never waits.
   */
  function executeOnConnection(stmt: InStatement): ResultSet {
    return onConnection((execute) => execute(stmt));
  }

  /**
   * Runs `work` with the connection borrowed throughout: the pool rolls back a connection given
   * back mid-transaction, so a transaction must run inside one borrowing.
   */
  function onConnection<T>(
    work: (
      execute: (stmt: InStatement) => ResultSet,
      control: (sql: string) => void,
    ) => T,
  ): T {
    const db = pool.acquireSync();
    try {
      let cache = statements.get(db);
      if (!cache) statements.set(db, cache = createStatementCache(db, reads));
      return work(cache.execute, cache.control);
    } finally {
      pool.release(db);
    }
  }

  /**
   * A batch of only SELECTs as @libsql/client's `batch` runs it (BEGIN in `mode`, each statement,
   * COMMIT; a failed statement throws LibsqlBatchError with its index and the pool rolls back),
   * but on the connection's prepared statements, without the read cache: the client prepares
   * every statement again, and the native statements live until V8 collects their wrappers, so
   * a /health poll grew the process's malloc heap by ~230 bytes per ping (~20 MB under wrk).
   */
  function readBatch(
    stmts: Array<InStatement | [string, InArgs?]>,
    mode: TransactionMode = "deferred",
  ): ResultSet[] {
    const db = pool.acquireSync();
    try {
      let cache = statements.get(db);
      if (!cache) statements.set(db, cache = createStatementCache(db, reads));
      cache.executeUncached(transactionModeToBegin(mode));
      const results = stmts.map((stmt, i) => {
        try {
          return cache.executeUncached(
            Array.isArray(stmt) ? { sql: stmt[0], args: stmt[1] ?? [] } : stmt,
          );
        } catch (error) {
          if (!(error instanceof LibsqlError) || error instanceof LibsqlBatchError) throw error;
          throw new LibsqlBatchError(
            error.message,
            i,
            error.code,
            error.extendedCode,
            error.rawCode,
            error.cause instanceof Error ? error.cause : undefined,
          );
        }
      });
      cache.executeUncached("COMMIT");
      return results;
    } finally {
      // Rolls back a transaction left open by a failed statement.
      pool.release(db);
    }
  }

  /**
   * The uncontended case without a promise hop: when the connection (and, for a write, the
   * writers' turn) is free and set up, the statement runs at once. Undefined when it cannot, or
   * when it found the database locked (connection replaced), so the caller takes the queued,
   * retrying path exactly as before.
   */
  function executeAtOnce(stmt: InStatement, write: boolean): ResultSet | undefined {
    if (needsSetup) return undefined;
    const releaseWriters = write ? writers.tryAcquire() : noop;
    if (!releaseWriters) return undefined;
    const release = connection.tryAcquire();
    if (!release) {
      releaseWriters();
      return undefined;
    }
    try {
      const result = executeOnConnection(stmt);
      if (write) {
        locked = false;
        lastWriteAt = performance.now();
      }
      return result;
    } catch (error) {
      if (!isBusyError(error)) throw error;
      // Replaced before anyone else runs on it: the next statement there would look committed.
      replaceConnection();
      if (write) locked = true;
      return undefined;
    } finally {
      release();
      releaseWriters();
    }
  }

  // Group commit: single-statement writes that arrive within one turn of the event loop commit
  // together, each in its own savepoint, in one BEGIN IMMEDIATE … COMMIT, so under load one
  // fsync covers many writes. Each caller's promise settles only after its group's COMMIT
  // returned (synchronous FULL, so on disk) or, for a statement that failed, after its savepoint
  // was rolled back; a failing statement fails only its own caller.
  let group: GroupMember[] = [];
  // When the last write settled (performance.now()); a write long after it runs at once, alone,
  // so a lone write never waits for a timer.
  let lastWriteAt = Number.NEGATIVE_INFINITY;
  const writesAreBusy = () => performance.now() - lastWriteAt < GROUP_AFTER_WRITE_MS;

  function joinGroup(stmt: InStatement): Promise<ResultSet> {
    return new Promise((resolve, reject) => {
      group.push({ stmt, resolve, reject });
      if (group.length === 1) setTimeout(flushGroup, 0);
    });
  }

  async function flushGroup() {
    const members = group;
    group = [];
    const releaseWriters = writers.tryAcquire() ?? await writers.acquire();
    let fallback: GroupMember[] = [];
    try {
      const release = connection.tryAcquire() ?? await connection.acquire();
      try {
        if (needsSetup) await prepareConnection();
        fallback = commitGroup(members);
      } finally {
        release();
      }
    } catch (error) {
      // The connection could not even be set up: nothing ran, each member fails as it would alone.
      for (const member of members) member.reject(error);
      return;
    } finally {
      releaseWriters();
      lastWriteAt = performance.now();
    }
    // Found the database locked (nothing committed, connection replaced): each statement takes
    // the ordinary queued, retrying path, exactly as without grouping.
    for (const member of fallback) {
      withRetry(true, () => Promise.resolve(executeOnConnection(member.stmt)))
        .then(member.resolve, member.reject);
    }
  }

  /**
   * Runs a group synchronously on the connection (caller holds both locks). Settles every member
   * it decided and returns those left to run alone: all of them when the database was locked.
   */
  function commitGroup(members: GroupMember[]): GroupMember[] {
    if (members.length === 1) {
      try {
        members[0].resolve(executeOnConnection(members[0].stmt));
        locked = false;
        return [];
      } catch (error) {
        if (!isBusyError(error)) {
          members[0].reject(error);
          return [];
        }
        replaceConnection();
        locked = true;
        return members;
      }
    }
    const outcomes: Array<{ ok: true; result: ResultSet } | { ok: false; error: unknown }> = [];
    try {
      onConnection((execute, control) => {
        execute("BEGIN IMMEDIATE");
        for (const member of members) {
          // SAVEPOINT and RELEASE change no data: the short path (no result object, the read
          // cache left alone; the member's own statement clears it) saves ~4 µs per write.
          control("SAVEPOINT capwatch_group_member");
          try {
            outcomes.push({ ok: true, result: execute(member.stmt) });
          } catch (error) {
            if (isBusyError(error)) throw error;
            execute("ROLLBACK TO capwatch_group_member");
            outcomes.push({ ok: false, error });
          }
          control("RELEASE capwatch_group_member");
        }
        execute("COMMIT");
      });
      locked = false;
    } catch (error) {
      // Replacing the connection rolls back whatever the group did: nothing was acknowledged.
      replaceConnection();
      if (isBusyError(error)) {
        locked = true;
        return members;
      }
      for (const member of members) member.reject(error);
      return [];
    }
    members.forEach((member, i) => {
      const outcome = outcomes[i];
      if (outcome.ok) member.resolve(outcome.result);
      else member.reject(outcome.error);
    });
    return [];
  }

  const client: Client = {
    execute(stmtOrSql: InStatement | string, args?: InArgs): Promise<ResultSet> {
      const stmt: InStatement = typeof stmtOrSql === "string"
        ? { sql: stmtOrSql, args: args ?? [] }
        : stmtOrSql;
      const write = isWrite(stmt);
      if (write && !locked && isGroupable(stmt) && (group.length > 0 || writesAreBusy())) {
        return joinGroup(stmt);
      }
      try {
        const result = executeAtOnce(stmt, write);
        if (result) return Promise.resolve(result);
      } catch (error) {
        return Promise.reject(error);
      }
      return withRetry(write, () => Promise.resolve(executeOnConnection(stmt)));
    },
    batch(stmts: Array<InStatement | [string, InArgs?]>, mode?: TransactionMode) {
      const write = stmts.some((stmt) => isWrite(Array.isArray(stmt) ? stmt[0] : stmt));
      // BEGIN IMMEDIATE takes the write lock up front, so a batch never fails half-way to take it.
      const effective = write && (mode ?? "deferred") === "deferred" ? "write" : mode;
      if (!write) {
        // Only SELECTs: nothing to forget (a /health ping must not empty the cache every poll).
        return withRetry(false, () => Promise.resolve(readBatch(stmts, effective)));
      }
      return withRetry(true, () => clearingReads(() => inner.batch(stmts, effective)));
    },
    migrate(stmts: InStatement[]) {
      return withRetry(true, () => clearingReads(() => inner.migrate(stmts)));
    },
    executeMultiple(sql: string) {
      return withRetry(true, () => clearingReads(() => inner.executeMultiple(sql)));
    },
    transaction(mode: TransactionMode = "write"): Promise<Transaction> {
      return openTransaction(mode);
    },
    sync() {
      return inner.sync();
    },
    close() {
      inner.close();
    },
    reconnect: replaceConnection,
    get closed() {
      return inner.closed;
    },
    protocol: "file",
  };

  /**
   * An interactive transaction holds the connection (and, for writes, the writers' turn) until it
   * settles. Its BEGIN is retried like any statement; a BUSY inside it cannot be retried without
   * the caller, so the connection is replaced (rolling the transaction back) and the caller gets
   * DatabaseBusyError.
   */
  async function openTransaction(mode: TransactionMode): Promise<Transaction> {
    const deadline = performance.now() + budgetMs;
    const releaseWriters = mode !== "read" ? await writers.acquire() : () => {};
    try {
      return await retryBusy(deadline, mode !== "read", async () => {
        const releaseConnection = await connection.acquire();
        try {
          await prepareConnection();
          const tx = await inner.transaction(mode);
          return guardTransaction(tx, () => {
            releaseConnection();
            releaseWriters();
          });
        } catch (error) {
          if (isBusyError(error)) replaceConnection();
          releaseConnection();
          throw error;
        }
      });
    } catch (error) {
      releaseWriters();
      throw error;
    }
  }

  /**
   * Runs `work` (on the connection, outside the statement cache) with the read cache cleared
   * before and after: its own commits do not move data_version.
   */
  async function clearingReads<T>(work: () => Promise<T>): Promise<T> {
    reads.clear();
    try {
      return await work();
    } finally {
      reads.clear();
    }
  }

  function guardTransaction(tx: Transaction, settle: () => void): Transaction {
    let settled = false;
    reads.clear();
    const done = () => {
      // Whatever the transaction wrote (committed or not) is not in any kept read.
      reads.clear();
      if (!settled) settle();
      settled = true;
    };
    const guarded = async <T>(work: () => Promise<T>): Promise<T> => {
      try {
        return await work();
      } catch (error) {
        if (!isBusyError(error)) throw error;
        tx.close();
        replaceConnection();
        done();
        throw new DatabaseBusyError("A transaction found the database locked by another process", {
          cause: error,
        });
      }
    };
    return {
      execute: (stmt: InStatement) => guarded(() => tx.execute(stmt)),
      batch: (stmts: InStatement[]) => guarded(() => tx.batch(stmts)),
      executeMultiple: (sql: string) => guarded(() => tx.executeMultiple(sql)),
      rollback: () => tx.rollback().finally(done),
      commit: () => guarded(() => tx.commit()).finally(done),
      close: () => {
        tx.close();
        done();
      },
      get closed() {
        return tx.closed;
      },
    };
  }

  return client;
}

/**
 * @libsql/client's sqlite3 client on a pool of one connection that this module can also borrow
 * (createClient keeps its pool private), opened and probed as createClient does.
 */
function openPool(url: string) {
  const config = expandConfig({ url, timeout: DRIVER_BUSY_TIMEOUT_MS, concurrency: 1 }, true);
  if (config.scheme !== "file") {
    throw new Error(`The local client opens file: and :memory: URLs, not ${config.scheme}:`);
  }
  const path = isInMemoryConfig(config) ? `${config.scheme}:${config.path}` : config.path;
  const pool = new ConnectionPool(path, { timeout: config.timeout }, 1);
  // Fail fast, as createClient does, when the database cannot be opened at all.
  const db = pool.acquireSync();
  try {
    createStatementCache(db).execute("SELECT 1 AS checkThatTheDatabaseCanBeOpened");
  } catch (error) {
    pool.close();
    throw error;
  }
  pool.release(db);
  return { pool, inner: new Sqlite3Client(pool, config.intMode) };
}

const noop = () => {};

/** True unless the statement only reads (SELECT, VALUES, EXPLAIN). */
function isWrite(stmt: InStatement): boolean {
  const sql = typeof stmt === "string" ? stmt : stmt.sql;
  return !/^\s*(select|values|explain)\b/i.test(sql);
}

/** A write waiting for its group's commit. */
interface GroupMember {
  stmt: InStatement;
  resolve: (result: ResultSet) => void;
  reject: (error: unknown) => void;
}

/**
 * Statements that may share a transaction with others: plain data changes. Anything else
 * (PRAGMA, BEGIN, DDL, VACUUM) runs alone, as some of it cannot run inside a transaction.
 */
function isGroupable(stmt: InStatement): boolean {
  const sql = typeof stmt === "string" ? stmt : stmt.sql;
  return /^\s*(insert|update|delete|replace)\b/i.test(sql);
}
