import { and, eq, sql } from "drizzle-orm";
import type { SQLiteColumn } from "drizzle-orm/sqlite-core";
import type { Database } from "./client.ts";
import { isUniqueViolation } from "./errors.ts";
import { captures, environments } from "./schema.ts";

/** Rows whose names become equal in Unicode NFC, left as they are for a person to rename. */
export interface NameCollision {
  table: "captures" | "environments";
  /** The environment the capture names share; null for environments (unique per owner). */
  envId: number | null;
  ids: number[];
  names: string[];
}

/** What normalizeStoredNames did: rows rewritten to NFC, and groups it could not rewrite. */
export interface NameNormalization {
  renamed: number;
  collisions: NameCollision[];
}

interface Named {
  id: number;
  envId: number | null;
  /** The owner, for environments (their names are unique per owner); null for captures. */
  ownerId: string | null;
  /** Where the name must be unique: an environment for captures, an owner for environments. */
  scope: string;
  name: string;
}

/**
 * Rewrites capture and environment names to Unicode NFC (the spelling the API stores and compares
 * since names are normalised), after the schema migrations. Names that would then equal another
 * name in the same scope are reported and left unchanged. Safe to run at every start: a second
 * run finds nothing to rewrite, and reports the collisions nobody has resolved yet.
 */
export async function normalizeStoredNames(db: Database): Promise<NameNormalization> {
  const result: NameNormalization = { renamed: 0, collisions: [] };
  // Only names with a non-ASCII character can be other than NFC (SQLite counts characters in
  // length(text), bytes in length(blob)); the filter runs in SQLite, so a start reads no more
  // rows than that (all of them took 10 s and 850 MB at a million captures).
  const captureRows: Named[] = (await db.select({
    id: captures.id,
    envId: captures.envId,
    name: captures.name,
  }).from(captures).where(nonAscii(captures.name)).orderBy(captures.id))
    .map(capturePerEnvironment);
  // A stale name's NFC form may be plain ASCII (KELVIN SIGN is K): the row holding it is read too.
  for (const row of staleRows(captureRows)) {
    const holders = await db.select({ id: captures.id, envId: captures.envId, name: captures.name })
      .from(captures)
      .where(and(eq(captures.envId, row.envId!), eq(captures.name, row.name.normalize("NFC"))));
    addNew(captureRows, holders.map(capturePerEnvironment));
  }
  await normalize(
    captureRows,
    "captures",
    result,
    (row, name) =>
      db.update(captures).set({ name, version: sql`${captures.version} + 1` })
        .where(and(eq(captures.id, row.id), eq(captures.name, row.name)))
        .run(),
  );
  const environmentColumns = {
    id: environments.id,
    ownerId: environments.ownerId,
    name: environments.name,
  };
  const environmentRows: Named[] = (await db.select(environmentColumns)
    .from(environments).where(nonAscii(environments.name)).orderBy(environments.id))
    .map(environmentPerOwner);
  for (const row of staleRows(environmentRows)) {
    const holders = await db.select(environmentColumns).from(environments).where(and(
      eq(environments.ownerId, row.ownerId!),
      eq(environments.name, row.name.normalize("NFC")),
    ));
    addNew(environmentRows, holders.map(environmentPerOwner));
  }
  await normalize(
    environmentRows,
    "environments",
    result,
    (row, name) =>
      db.update(environments).set({ name })
        .where(and(eq(environments.id, row.id), eq(environments.name, row.name)))
        .run(),
  );
  return result;
}

const capturePerEnvironment = (row: { id: number; envId: number; name: string }): Named => ({
  ...row,
  ownerId: null,
  scope: `env:${row.envId}`,
});

const environmentPerOwner = (row: { id: number; ownerId: string; name: string }): Named => ({
  ...row,
  envId: null,
  scope: `owner:${row.ownerId}`,
});

const nonAscii = (column: SQLiteColumn) =>
  sql`length(${column}) <> length(CAST(${column} AS BLOB))`;

const staleRows = (rows: Named[]) => rows.filter((row) => row.name !== row.name.normalize("NFC"));

/** Appends the rows of `more` not in `rows` yet (by id), keeping id order. */
function addNew(rows: Named[], more: Named[]) {
  for (const row of more) {
    if (!rows.some((seen) => seen.id === row.id)) rows.push(row);
  }
  rows.sort((x, y) => x.id - y.id);
}

async function normalize(
  rows: Named[],
  table: NameCollision["table"],
  result: NameNormalization,
  rename: (row: Named, name: string) => Promise<{ rowsAffected: number }>,
) {
  const groups = new Map<string, Named[]>();
  for (const row of rows) {
    const key = `${row.scope}\0${row.name.normalize("NFC")}`;
    groups.set(key, [...groups.get(key) ?? [], row]);
  }
  for (const group of groups.values()) {
    const stale = group.filter((row) => row.name !== row.name.normalize("NFC"));
    if (stale.length === 0) continue;
    const collision = {
      table,
      envId: group[0].envId,
      ids: group.map((row) => row.id),
      names: group.map((row) => row.name),
    };
    if (group.length > 1) {
      result.collisions.push(collision);
      continue;
    }
    try {
      result.renamed += (await rename(stale[0], stale[0].name.normalize("NFC"))).rowsAffected;
    } catch (error) {
      // A row written since the scan took the name: the same collision, found later.
      if (!isUniqueViolation(error)) throw error;
      result.collisions.push(collision);
    }
  }
}
