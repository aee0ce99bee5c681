import { isoTime } from "./iso_time.ts";

/** Structured JSON logging to stdout; callers pass fields, never secrets or bodies. */
export type LogLevel = "debug" | "info" | "warn" | "error";

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

const order: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** JSON.stringify would write an Error as {} and throw on a bigint; log them as text. */
const plain = (_key: string, value: unknown) =>
  value instanceof Error
    ? value.stack ?? value.message
    : typeof value === "bigint"
    ? value.toString()
    : value;

/** True when every field is a string, number, boolean or null: the replacer would change none. */
function allPlain(fields: Record<string, unknown>): boolean {
  for (const key in fields) {
    const value = fields[key];
    const type = typeof value;
    if (value !== null && type !== "string" && type !== "number" && type !== "boolean") {
      return false;
    }
  }
  return true;
}

/**
 * A line writer for stdout that batches: lines wait in memory until the current turn of the
 * event loop ends (a zero timer), then go out in one write, so a busy server does one write per
 * batch of requests rather than a blocking write per request. `urgent` lines (warnings, errors)
 * flush everything at once, in order; so does the process's exit.
 */
function batchedStdout(): (line: string, urgent?: boolean) => void {
  const encoder = new TextEncoder();
  let pending: string[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;
  const flush = () => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    if (pending.length === 0) return;
    let bytes = encoder.encode(pending.join("\n") + "\n");
    pending = [];
    while (bytes.length > 0) bytes = bytes.subarray(Deno.stdout.writeSync(bytes));
  };
  globalThis.addEventListener("unload", flush);
  return (line, urgent = false) => {
    pending.push(line);
    if (urgent) flush();
    // Unref'd: a pending log line must not keep an otherwise finished process alive.
    else if (timer === undefined) Deno.unrefTimer(timer = setTimeout(flush, 0));
  };
}

/** A logger writing one JSON line per event at or above `level` (stdout, batched, by default). */
export function createLogger(
  level: LogLevel = "info",
  write: (line: string, urgent?: boolean) => void = batchedStdout(),
): Logger {
  const emit = (at: LogLevel) => (msg: string, fields: Record<string, unknown> = {}) => {
    if (order[at] < order[level]) return;
    const line = { time: isoTime(Date.now()), level: at, msg, ...fields };
    // The replacer costs a call per key; a line of plain values (every request's) needs none.
    write(
      JSON.stringify(line, allPlain(fields) ? undefined : plain),
      order[at] >= order.warn,
    );
  };
  return { debug: emit("debug"), info: emit("info"), warn: emit("warn"), error: emit("error") };
}
