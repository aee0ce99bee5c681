/**
 * One Hrana stream of the fake Turso: its own connection to the fake's database file (as sqld
 * gives every stream its own), the stream's stored SQL texts, and an open transaction kept
 * across pipeline requests. Wire shapes follow the Hrana 2/3 JSON encoding.
 */
import {
  type Client,
  createClient,
  type InStatement,
  type InValue,
  type ResultSet,
  type Transaction,
} from "@libsql/client";
import { Buffer } from "node:buffer";

// deno-lint-ignore no-explicit-any -- wire JSON is checked field by field where it is used
type Json = any;

/** A Hrana error: `message` always, `code` when machine-readable. */
export interface HranaError {
  message: string;
  code?: string;
}

/** Raised for protocol misuse; the pipeline reports it as that request's error. */
export class StreamError extends Error {
  constructor(message: string, readonly code: string) {
    super(message);
  }
}

/** Decodes a Hrana value (`{ type, value | base64 }`) into an argument for libSQL. */
function decodeValue(v: Json): InValue {
  switch (v?.type) {
    case "null":
      return null;
    case "integer":
      return BigInt(v.value);
    case "float":
      return Number(v.value);
    case "text":
      return String(v.value);
    case "blob":
      return new Uint8Array(Buffer.from(String(v.base64), "base64")).buffer;
  }
  throw new StreamError(`Unknown value type ${JSON.stringify(v?.type)}`, "PROTO_ERROR");
}

/** Encodes a libSQL value (read with intMode "bigint") the way sqld does. */
function encodeValue(v: unknown): Json {
  if (v === null || v === undefined) return { type: "null" };
  if (typeof v === "bigint") return { type: "integer", value: v.toString() };
  if (typeof v === "number") return { type: "float", value: v };
  if (typeof v === "string") return { type: "text", value: v };
  if (v instanceof ArrayBuffer) {
    return { type: "blob", base64: Buffer.from(v).toString("base64") };
  }
  throw new Error(`cannot encode ${typeof v}`);
}

/** sqld's error for a failed statement: `SQLite error: <sqlite message>`, primary code. */
export function toHranaError(error: unknown): HranaError {
  if (error instanceof StreamError) return { message: error.message, code: error.code };
  const e = error as { code?: string; message?: string; cause?: { message?: string } };
  const raw = e.cause?.message ?? String(e.message).replace(/^[A-Z_]+: /, "");
  return { message: `SQLite error: ${raw}`, code: e.code ?? "SQLITE_UNKNOWN" };
}

/** The mode `client.transaction()` needs to run the same BEGIN the client asked for. */
function beginMode(sql: string): "deferred" | "write" | "read" | undefined {
  const m = /^\s*BEGIN\b(.*)$/is.exec(sql);
  if (!m) return undefined;
  if (/\b(IMMEDIATE|EXCLUSIVE)\b/i.test(m[1])) return "write";
  return /\bREADONLY\b/i.test(m[1]) ? "read" : "deferred";
}

/** How long a stream waits for another stream's write lock before answering SQLITE_BUSY. */
const LOCK_WAIT_MS = 10_000;

const isBusy = (error: unknown) => /^SQLITE_BUSY/.test(String((error as { code?: string })?.code));

export class FakeStream {
  #url: string;
  #client: Client;
  #tx: Transaction | undefined;
  #sqls = new Map<number, string>();

  constructor(url: string) {
    this.#url = url;
    this.#client = this.#connect();
  }

  // One connection, so statements outside a transaction all run on the stream's connection.
  #connect(): Client {
    return createClient({ url: this.#url, intMode: "bigint", concurrency: 1 });
  }

  /**
   * Runs `work` on the stream's own connection, waiting (asynchronously, so the other streams
   * go on) while another stream holds the write lock: sqld serialises writes and does not
   * answer SQLITE_BUSY to a client. The native driver never resets a statement that failed
   * with BUSY, which leaves the connection unable to commit (libsql-js #237), so each retry
   * runs on a new connection. A BUSY statement wrote nothing, so the retry cannot double it.
   */
  async #outsideTransaction<T>(work: (client: Client) => Promise<T>): Promise<T> {
    const deadline = Date.now() + LOCK_WAIT_MS;
    for (let delay = 2;; delay = Math.min(delay * 2, 50)) {
      try {
        return await work(this.#client);
      } catch (error) {
        if (!isBusy(error) || Date.now() > deadline) throw error;
        this.#client.close();
        this.#client = this.#connect();
        await new Promise((resolve) => setTimeout(resolve, delay * (0.5 + Math.random())));
      }
    }
  }

  get autocommit(): boolean {
    return this.#tx === undefined;
  }

  /** Runs one stream request and answers its response object. */
  async handle(req: Json): Promise<Json> {
    switch (req?.type) {
      case "execute":
        return { type: "execute", result: await this.#execute(req.stmt) };
      case "batch":
        return { type: "batch", result: await this.#batch(req.batch) };
      case "sequence":
        await this.#sequence(this.#sqlText(req.sql, req.sql_id));
        return { type: "sequence" };
      case "store_sql":
        this.#sqls.set(Number(req.sql_id), String(req.sql));
        return { type: "store_sql" };
      case "close_sql":
        this.#sqls.delete(Number(req.sql_id));
        return { type: "close_sql" };
      case "get_autocommit":
        return { type: "get_autocommit", is_autocommit: this.autocommit };
      case "describe":
        // @libsql/client never describes, and the native client cannot prepare without running.
        throw new StreamError("describe is not supported by the fake", "NOT_SUPPORTED");
    }
    throw new StreamError(`Unknown request type ${JSON.stringify(req?.type)}`, "PROTO_ERROR");
  }

  /** Rolls back an open transaction and closes the connection. */
  close(): void {
    this.#tx?.close();
    this.#tx = undefined;
    this.#client.close();
  }

  #sqlText(sql: unknown, sqlId: unknown): string {
    if (typeof sql === "string" && sqlId == null) return sql;
    if (sql == null && typeof sqlId === "number") {
      const stored = this.#sqls.get(sqlId);
      if (stored !== undefined) return stored;
      throw new StreamError(`SQL text ${sqlId} not found`, "SQL_NOT_FOUND");
    }
    throw new StreamError("Exactly one of sql and sql_id must be given", "PROTO_ERROR");
  }

  /** After COMMIT, ROLLBACK or an error that ended it, hands the connection back. */
  #settle(): void {
    if (this.#tx?.closed) {
      this.#tx.close();
      this.#tx = undefined;
    }
  }

  async #execute(stmt: Json): Promise<Json> {
    const sql = this.#sqlText(stmt?.sql, stmt?.sql_id);
    const named = (stmt.named_args ?? []) as Json[];
    const positional = (stmt.args ?? []) as Json[];
    if (named.length > 0 && positional.length > 0) {
      throw new StreamError(
        "Specifying both positional and named arguments is not supported",
        "ARGS_BOTH_POSITIONAL_AND_NAMED",
      );
    }
    const args = named.length > 0
      ? Object.fromEntries(named.map((a) => [String(a.name), decodeValue(a.value)]))
      : positional.map(decodeValue);
    const mode = this.#tx ? undefined : beginMode(sql);
    if (mode) {
      // The native client rolls back whatever a borrowed connection leaves open, so a
      // transaction that outlives this request has to be held as a client transaction.
      // Every transaction takes the write lock at BEGIN, waiting for it as sqld would, so a
      // deferred one cannot fail with BUSY later when it first writes.
      this.#tx = await this.#outsideTransaction((client) =>
        client.transaction(mode === "read" ? "read" : "write")
      );
      return { cols: [], rows: [], affected_row_count: 0, last_insert_rowid: null };
    }
    // The counts are read on the statement's own connection, which a BUSY retry replaces.
    const onConnection = async (run: (stmt: InStatement) => Promise<ResultSet>) => {
      const before = await run("SELECT total_changes()");
      const result = await run({ sql, args });
      if (result.columns.length === 0) return { result, changes: undefined, lastRowid: undefined };
      // The native client reports no counts for statements that return rows (RETURNING); sqld
      // does, so read them from the connection.
      const after = await run("SELECT total_changes(), last_insert_rowid()").catch((e) => {
        // The statement has run: this must not be retried as if it had not.
        throw new Error(`reading the counts failed: ${e}`);
      });
      const changes = Number(after.rows[0][0]) - Number(before.rows[0][0]);
      return { result, changes, lastRowid: after.rows[0][1] as bigint };
    };
    let ran;
    try {
      const tx = this.#tx;
      ran = tx
        ? await onConnection((stmt) => tx.execute(stmt))
        : await this.#outsideTransaction((client) => onConnection((s) => client.execute(s)));
    } finally {
      this.#settle();
    }
    const { result, changes, lastRowid } = ran;
    return {
      cols: result.columns.map((name, i) => ({ name, decltype: result.columnTypes[i] || null })),
      rows: stmt.want_rows === false
        ? []
        : result.rows.map((row) =>
          Array.from({ length: row.length }, (_, i) => encodeValue(row[i]))
        ),
      affected_row_count: changes ?? result.rowsAffected,
      last_insert_rowid: (lastRowid ?? result.lastInsertRowid)?.toString() ?? null,
    };
  }

  /** Steps in order; a step runs only when its condition holds over the steps before it. */
  async #batch(batch: Json): Promise<Json> {
    const steps = (batch?.steps ?? []) as Json[];
    const results: (Json | null)[] = [];
    const errors: (HranaError | null)[] = [];
    const holds = (cond: Json): boolean => {
      switch (cond?.type) {
        case "ok":
          return results[cond.step] != null;
        case "error":
          return errors[cond.step] != null;
        case "not":
          return !holds(cond.cond);
        case "and":
          return (cond.conds as Json[]).every(holds);
        case "or":
          return (cond.conds as Json[]).some(holds);
        case "is_autocommit":
          return this.autocommit;
      }
      throw new StreamError(`Unknown condition ${JSON.stringify(cond?.type)}`, "PROTO_ERROR");
    };
    for (const step of steps) {
      results.push(null);
      errors.push(null);
      if (step.condition != null && !holds(step.condition)) continue;
      try {
        results[results.length - 1] = await this.#execute(step.stmt);
      } catch (error) {
        errors[errors.length - 1] = toHranaError(error);
      }
    }
    return { step_results: results, step_errors: errors };
  }

  async #sequence(sql: string): Promise<void> {
    try {
      if (this.#tx) await this.#tx.executeMultiple(sql);
      else await this.#outsideTransaction((client) => client.executeMultiple(sql));
    } finally {
      this.#settle();
    }
  }
}
