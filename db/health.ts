import type { Client } from "@libsql/client/web";

/**
 * Reads a table in a read transaction of its own; resolves to the number of applied migrations. A
 * batch, so the local client's read cache (db/read_cache.ts) never answers it: the ping reads the
 * file every time.
 */
export async function pingDatabase(client: Client): Promise<number> {
  // `LIMIT ?` bound to 1 (the count is one row anyway): the local client reads such a statement
  // with libsql's get(), which makes no native row iterator; one per ping held ~1 KB of malloc
  // heap until V8 collected its wrapper, and the heap kept the high-water mark (~3 MB per 5 s).
  const [result] = await client.batch(
    [{ sql: "SELECT count(*) AS n FROM __drizzle_migrations LIMIT ?", args: [1] }],
    "read",
  );
  return Number(result.rows[0].n);
}

/** The local path of a `file:` libSQL URL, or undefined for memory and remote databases. */
export function databaseFilePath(url: string): string | undefined {
  if (!url.startsWith("file:")) return undefined;
  const rest = url.slice("file:".length).split("?")[0];
  return rest.startsWith("//") ? decodeURIComponent(new URL(url).pathname) : rest || undefined;
}

/**
 * For a `file:` database, a check that its path still names the file this process opened.
 * SQLite keeps reading and writing a removed or replaced file through its open descriptor, so
 * a query alone passes while every write goes to a file nobody will read again.
 */
export async function databaseFileCheck(url: string): Promise<() => Promise<void>> {
  const path = databaseFilePath(url);
  if (!path) return () => Promise.resolve();
  const opened = await Deno.stat(path);
  return async () => {
    let current: Deno.FileInfo;
    try {
      current = await Deno.stat(path);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
      throw new Error(`The database file ${path} was removed; restore it and restart capwatch`);
    }
    if (!current.isFile || current.ino !== opened.ino || current.dev !== opened.dev) {
      throw new Error(
        `The database file ${path} was replaced; restart capwatch to open the new one`,
      );
    }
  };
}
