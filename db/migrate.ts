import { migrate } from "drizzle-orm/libsql/migrator";
import { fileURLToPath } from "node:url";
import type { Database } from "./client.ts";
import { type NameNormalization, normalizeStoredNames } from "./normalize_names.ts";

const migrationsFolder = fileURLToPath(new URL("./migrations", import.meta.url));

/** Where migrateDatabase reports what needs a person (one line per event); silent by default. */
export type MigrationWarn = (message: string, fields: Record<string, unknown>) => void;

/**
 * Applies the drizzle-kit migrations in db/migrations that the database has not seen yet, then
 * the data step that rewrites stored names to NFC; each name collision it leaves is one `warn`.
 */
export async function migrateDatabase(
  db: Database,
  options: { warn?: MigrationWarn } = {},
): Promise<NameNormalization> {
  await migrate(db, { migrationsFolder });
  const names = await normalizeStoredNames(db);
  for (const collision of names.collisions) {
    options.warn?.("names collide in Unicode NFC; left unchanged, rename all but one", {
      ...collision,
    });
  }
  return names;
}
