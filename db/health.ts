import type { Client } from "@libsql/client";

/** Runs a trivial query; resolves to the number of applied migrations. */
export async function pingDatabase(client: Client): Promise<number> {
  const result = await client.execute("SELECT count(*) AS n FROM __drizzle_migrations");
  return Number(result.rows[0].n);
}
