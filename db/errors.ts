/** True when a libSQL error (possibly wrapped by drizzle) is a UNIQUE constraint violation. */
export function isUniqueViolation(error: unknown): boolean {
  for (let e: unknown = error; e instanceof Error; e = e.cause) {
    if (/UNIQUE constraint failed/i.test(e.message)) return true;
  }
  return false;
}

/** The innermost message of an error's cause chain: drizzle wraps the driver's reason. */
export function rootCauseMessage(error: unknown): string {
  let e = error;
  while (e instanceof Error && e.cause instanceof Error) e = e.cause;
  return (e instanceof Error ? e.message : String(e)).split("\n")[0];
}

/** True when an error (possibly wrapped) is SQLite's SQLITE_BUSY or one of its extended codes. */
export function isBusyError(error: unknown): boolean {
  for (let e: unknown = error; e instanceof Error; e = e.cause) {
    if (e instanceof DatabaseBusyError) return false;
    const { code, rawCode } = e as { code?: unknown; rawCode?: unknown };
    if (typeof code === "string" && code.startsWith("SQLITE_BUSY")) return true;
    if (typeof rawCode === "number" && (rawCode & 0xff) === 5) return true;
  }
  return false;
}

/**
 * Another process holds the database's write lock: it held it for a whole retry budget, or so
 * many writes already wait for it that this one was refused at once. Nothing was written.
 * Answered as 503 with `Retry-After: retryAfterSeconds`.
 */
export class DatabaseBusyError extends Error {
  readonly retryAfterSeconds = 1;

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "DatabaseBusyError";
  }
}

/** The DatabaseBusyError anywhere in an error's cause chain (drizzle wraps it), or undefined. */
export function findBusyError(error: unknown): DatabaseBusyError | undefined {
  for (let e: unknown = error; e instanceof Error; e = e.cause) {
    if (e instanceof DatabaseBusyError) return e;
  }
  return undefined;
}

/** The driver's code (e.g. SQLITE_IOERR) and message at the root of an error, for 500 logs. */
export function driverCause(error: unknown): { code?: string; message: string } | undefined {
  let found: { code?: string; message: string } | undefined;
  for (let e: unknown = error; e instanceof Error; e = e.cause) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string") found = { code, message: e.message.split("\n")[0] };
  }
  return found;
}
