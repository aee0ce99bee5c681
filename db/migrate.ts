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
  await migrateOnce(db);
  const names = await normalizeStoredNames(db);
  for (const collision of names.collisions) {
    options.warn?.("names collide in Unicode NFC; left unchanged, rename all but one", {
      ...collision,
    });
  }
  return names;
}

const MIGRATE_ATTEMPTS = 5;

/**
 * drizzle's migrator reads the last applied migration outside the batch that applies the rest, so
 * instances starting together on a new database can both try to apply the same migrations; the
 * loser's batch fails and rolls back whole ("table … already exists"). Trying again reads the
 * winner's record and finds nothing left to do. A fault that persists still fails after ~1 s.
 */
async function migrateOnce(db: Database): Promise<void> {
  for (let attempt = 1;; attempt++) {
    try {
      return await migrate(db, { migrationsFolder });
    } catch (error) {
      if (attempt >= MIGRATE_ATTEMPTS) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50 + Math.random() * 200));
    }
  }
}
