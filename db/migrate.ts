import { sql } from "drizzle-orm";
import type { Database } from "./client.ts";
import { type NameNormalization, normalizeStoredNames } from "./normalize_names.ts";
import journal from "./migrations/meta/_journal.json" with { type: "json" };

/** drizzle-kit's time (ms since the epoch, UTC) of the newest migration in db/migrations. */
const NEWEST_MIGRATION_MS = Math.max(...journal.entries.map((entry) => entry.when));

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
  if (await isCurrent(db)) return;
  // Loaded only when there is something to apply: the migrator reads and hashes every migration
  // file through Node's fs and crypto, which cost a start ~10 ms to load.
  const [{ migrate }, { fileURLToPath }] = await Promise.all([
    import("drizzle-orm/libsql/migrator"),
    import("node:url"),
  ]);
  const migrationsFolder = fileURLToPath(new URL("./migrations", import.meta.url));
  for (let attempt = 1;; attempt++) {
    try {
      return await migrate(db, { migrationsFolder });
    } catch (error) {
      if (attempt >= MIGRATE_ATTEMPTS) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50 + Math.random() * 200));
    }
  }
}

/**
 * True when drizzle's migrator would apply nothing: its table records a migration at least as new
 * as the newest in the journal (the migrator applies exactly those newer than its last record).
 * Any failure (no table yet, a busy database) answers false, and the migrator decides and reports.
 */
async function isCurrent(db: Database): Promise<boolean> {
  try {
    const rows = await db.values<[unknown]>(
      sql`SELECT created_at FROM __drizzle_migrations ORDER BY created_at DESC LIMIT 1`,
    );
    return rows.length > 0 && Number(rows[0][0]) >= NEWEST_MIGRATION_MS;
  } catch {
    return false;
  }
}
