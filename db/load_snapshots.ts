import { and, eq } from "drizzle-orm";
import type { Database } from "./client.ts";
import { insertSelection } from "./insert_select.ts";
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

/**
 * Stores groupings of a capture's load if `owner` still holds its snapshot claim (the same lease
 * as the metrics snapshot, db/snapshots.ts); resolves false when the lease was lost.
 */
export async function saveLoadSnapshots(
  db: Database,
  captureId: number,
  owner: string,
  loads: Array<{ header: StoredLoad; groups: StoredLoadGroup[] }>,
): Promise<boolean> {
  const held = and(eq(captures.id, captureId), eq(captures.snapshotLeaseOwner, owner));
  const [check] = await db.select({ id: captures.id }).from(captures).where(held);
  if (!check || loads.length === 0) return Boolean(check);
  // Every insert carries the lease condition, so a claim lost in between writes nothing.
  const insertHeader = (header: StoredLoad) =>
    db.insert(captureLoadSnapshots).select(
      db.select(insertSelection(captureLoadSnapshots, { ...header, captureId: captures.id }))
        .from(captures).where(held),
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
        ).from(captures).where(held),
      ).onConflictDoNothing()
    );
  // The batch takes a non-empty tuple: the first header leads, checked non-empty above.
  const [first, ...more] = loads;
  await db.batch([
    insertHeader(first.header),
    ...insertGroups(first),
    ...more.flatMap((load) => [insertHeader(load.header), ...insertGroups(load)]),
  ]);
  return true;
}
