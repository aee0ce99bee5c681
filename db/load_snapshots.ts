import { and, eq, sql } from "drizzle-orm";
import type { Database } from "./client.ts";
import { insertSelection } from "./insert_select.ts";
import { fitsQuota, type SnapshotQuota, textBytes } from "./snapshot_bytes.ts";
import {
  captureLoadGroups,
  captureLoadSnapshots,
  type captureLoadSnapshots as LoadSnapshotsTable,
  captures,
} from "./schema.ts";

/** A stored grouping: header fields, and its groups (datapoints and stats still JSON text). */
export type StoredLoad = Omit<typeof LoadSnapshotsTable.$inferSelect, "captureId">;
export type StoredLoadGroup = Omit<typeof captureLoadGroups.$inferSelect, "captureId" | "groupBy">;

/** The stored load of a capture grouped by `groupBy`, groups by rank; undefined when none. */
export async function findLoadSnapshot(
  db: Database,
  captureId: number,
  groupBy: string,
): Promise<{ header: StoredLoad; groups: StoredLoadGroup[] } | undefined> {
  const [header] = await db.select().from(captureLoadSnapshots).where(and(
    eq(captureLoadSnapshots.captureId, captureId),
    eq(captureLoadSnapshots.groupBy, groupBy),
  ));
  if (!header) return undefined;
  const rows = await db.select().from(captureLoadGroups).where(and(
    eq(captureLoadGroups.captureId, captureId),
    eq(captureLoadGroups.groupBy, groupBy),
  )).orderBy(captureLoadGroups.rank);
  const { captureId: _, ...rest } = header;
  return { header: rest, groups: rows.map(({ captureId: _c, groupBy: _g, ...g }) => g) };
}

/** The bytes a stored grouping weighs against QUOTA_SNAPSHOT_BYTES_PER_ENVIRONMENT. */
export function loadBytes(load: { header: StoredLoad; groups: StoredLoadGroup[] }): number {
  return textBytes(load.header.total) + load.groups.reduce(
    (sum, g) =>
      sum + textBytes(g.datapoints) + textBytes(g.stats) + textBytes(g.statement) +
      textBytes(g.fullStatement),
    0,
  );
}

/** One stored group of a capture's load (e.g. a SQL digest by its id); undefined when none. */
export async function findLoadGroup(
  db: Database,
  captureId: number,
  groupBy: string,
  key: string,
): Promise<StoredLoadGroup | undefined> {
  const [row] = await db.select().from(captureLoadGroups).where(and(
    eq(captureLoadGroups.captureId, captureId),
    eq(captureLoadGroups.groupBy, groupBy),
    eq(captureLoadGroups.key, key),
  ));
  if (!row) return undefined;
  const { captureId: _c, groupBy: _g, ...group } = row;
  return group;
}

/**
 * Stores groupings of a capture's load if `owner` still holds its snapshot claim (the same lease
 * as the metrics snapshot, db/snapshots.ts); resolves false when the lease was lost. With a
 * `quota`, each grouping is stored only while the environment's snapshot bytes plus its own stay
 * within it, checked in the same batch; one that does not fit is left out with its groups.
 */
export async function saveLoadSnapshots(
  db: Database,
  captureId: number,
  owner: string,
  loads: Array<{ header: StoredLoad; groups: StoredLoadGroup[] }>,
  quota?: SnapshotQuota,
): Promise<boolean> {
  const held = and(eq(captures.id, captureId), eq(captures.snapshotLeaseOwner, owner));
  const [check] = await db.select({ id: captures.id }).from(captures).where(held);
  if (!check || loads.length === 0) return Boolean(check);
  // Every insert carries the lease condition, so a claim lost in between writes nothing.
  const insertHeader = (load: (typeof loads)[number]) =>
    db.insert(captureLoadSnapshots).select(
      db.select(insertSelection(captureLoadSnapshots, { ...load.header, captureId: captures.id }))
        .from(captures).where(and(held, fitsQuota(quota, loadBytes(load)))),
    ).onConflictDoNothing();
  const insertGroups = ({ header, groups }: (typeof loads)[number]) =>
    groups.map((g) =>
      db.insert(captureLoadGroups).select(
        db.select(
          insertSelection(captureLoadGroups, {
            ...g,
            groupBy: header.groupBy,
            captureId: captures.id,
          }),
        ).from(captures).where(and(
          held,
          // Each group only under its own grouping's header: one refused by the quota stores none.
          sql`exists (select 1 from ${captureLoadSnapshots} where ${captureLoadSnapshots.captureId} = ${captures.id} and ${captureLoadSnapshots.groupBy} = ${header.groupBy})`,
        )),
      ).onConflictDoNothing()
    );
  // The batch takes a non-empty tuple: the first header leads, checked non-empty above.
  const [first, ...more] = loads;
  await db.batch([
    insertHeader(first),
    ...insertGroups(first),
    ...more.flatMap((load) => [insertHeader(load), ...insertGroups(load)]),
  ]);
  return true;
}
