import { type Client, createClient as createWebClient } from "@libsql/client/web";
// The web entry point: drizzle-orm/libsql would import the native client and load its addon.
import { drizzle } from "drizzle-orm/libsql/web";
import * as schema from "./schema.ts";

/** The drizzle database every query module takes as its first argument. */
export type Database = ReturnType<typeof drizzle<typeof schema>>;

/** An open database: drizzle on top, the raw libSQL client for closing and health checks. */
export interface DatabaseHandle {
  db: Database;
  client: Client;
  close(): void;
}

/** Opens a libSQL database: the native client for files and memory, pure fetch for remote URLs. */
export async function openDatabase(url: string, authToken?: string): Promise<DatabaseHandle> {
  const remote = /^(libsql|https?|wss?):\/\//.test(url);
  // The native addon cannot load on edge runtimes, so it is imported only for local files; the
  // web client needs only fetch.
  const client: Client = remote
    ? createWebClient({ url, authToken })
    : (await import("@libsql/client")).createClient({ url });
  if (!remote) {
    await client.execute("PRAGMA foreign_keys = ON");
    await client.execute("PRAGMA busy_timeout = 5000");
    if (url.startsWith("file:")) await client.execute("PRAGMA journal_mode = WAL");
  }
  const db = drizzle(client, { schema });
  return { db, client, close: () => client.close() };
}
