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

export class FakeStream {
  #client: Client;
  #tx: Transaction | undefined;
  #sqls = new Map<number, string>();

  constructor(url: string) {
    // One connection, so statements outside a transaction all run on the stream's connection.
    this.#client = createClient({ url, intMode: "bigint", concurrency: 1 });
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

  /** Runs on the transaction's connection while one is open, else on the stream's own. */
  #run(stmt: InStatement): Promise<ResultSet> {
    return this.#tx ? this.#tx.execute(stmt) : this.#client.execute(stmt);
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
      this.#tx = await this.#client.transaction(mode);
      return { cols: [], rows: [], affected_row_count: 0, last_insert_rowid: null };
    }
    let result: ResultSet;
    let changes: number | undefined;
    let lastRowid: bigint | undefined;
    try {
      const before = await this.#run("SELECT total_changes()");
      result = await this.#run({ sql, args });
      if (result.columns.length > 0) {
        // The native client reports no counts for statements that return rows (RETURNING);
        // sqld does, so read them from the connection.
        const after = await this.#run("SELECT total_changes(), last_insert_rowid()");
        changes = Number(after.rows[0][0]) - Number(before.rows[0][0]);
        lastRowid = after.rows[0][1] as bigint;
      }
    } finally {
      this.#settle();
    }
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
      await (this.#tx ?? this.#client).executeMultiple(sql);
    } finally {
      this.#settle();
    }
  }
}
