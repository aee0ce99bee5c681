import type { Client } from "@libsql/client/web";
import type { LibSQLDatabase } from "drizzle-orm/libsql/driver-core";
// Type only: the native client (and its addon) loads only for local files, below.
import type { LocalClientOptions } from "./local_client.ts";
import * as schema from "./schema.ts";
import { createPrivateFile, tightenDatabaseFiles } from "./file_mode.ts";
import { databaseFilePath } from "./health.ts";

export { DatabaseBusyError } from "./errors.ts";

/** The drizzle database every query module takes as its first argument. */
export type Database = LibSQLDatabase<typeof schema> & { $client: Client };

/** An open database: drizzle on top, the raw libSQL client for closing and health checks. */
export interface DatabaseHandle {
  db: Database;
  client: Client;
  close(): void;
}

/**
 * Opens a libSQL database: the guarded native client (db/local_client.ts) for files and memory,
 * pure fetch for remote URLs. Local operations that find the database locked for the whole
 * budget reject with DatabaseBusyError.
 */
export async function openDatabase(
  url: string,
  authToken?: string,
  options: Omit<LocalClientOptions, "setup"> = {},
): Promise<DatabaseHandle> {
  const remote = /^(libsql|https?|wss?):\/\//.test(url);
  const path = databaseFilePath(url);
  if (path) await createPrivateFile(path);
  // The native addon cannot load on edge runtimes, so it is imported only for local files; the
  // web client needs only fetch, and is imported only for remote URLs.
  const client: Client = remote
    ? (await import("@libsql/client/web")).createClient({ url, authToken })
    : (await import("./local_client.ts")).createLocalClient(url, {
      ...options,
      setup: ["PRAGMA foreign_keys = ON"],
    });
  // WAL is a property of the file, set once; it lets reads go on while another process writes.
  if (url.startsWith("file:")) await client.execute("PRAGMA journal_mode = WAL");
  if (path) await tightenDatabaseFiles(path);
  // drizzle's wrapper for the client in use: drizzle-orm/libsql would import the native client
  // (and its addon) everywhere, and the web one costs a local start ~5 ms it never uses.
  const { drizzle } = remote
    ? await import("drizzle-orm/libsql/web")
    : await import("drizzle-orm/libsql/sqlite3");
  const db = drizzle(client, { schema });
  return { db, client, close: () => client.close() };
}
