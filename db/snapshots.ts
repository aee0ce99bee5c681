import { and, eq, inArray, isNull, lte, notExists, or, type SQL, sql } from "drizzle-orm";
import { QueryBuilder } from "drizzle-orm/sqlite-core";
import type { Database } from "./client.ts";
import { insertSelection } from "./insert_select.ts";
import { aliased, plainRows, preparedPerDatabase } from "./prepared.ts";
import { fitsQuota, type SnapshotQuota, textBytes } from "./snapshot_bytes.ts";
import {
  type CaptureRow,
  captures,
  type CaptureSnapshotRow,
  captureSnapshots,
  captureSnapshotSeries,
  type CaptureSnapshotSeriesRow,
  memberships,
} from "./schema.ts";

/** The stored snapshot of a capture, or undefined. */
export async function findSnapshot(
  db: Database,
  captureId: number,
): Promise<CaptureSnapshotRow | undefined> {
  const [row] = await db.select().from(captureSnapshots)
    .where(eq(captureSnapshots.captureId, captureId));
  return row;
}

/** A stored series as kept in the database: its datapoints still JSON text. */
export type StoredSeries = Omit<CaptureSnapshotSeriesRow, "captureId">;

/**
 * A capture's stored snapshot: period (s), whether complete, and when it was taken (ms, which
 * names it); undefined when it has none.
 */
export function findSnapshotHeader(
  db: Database,
  captureId: number,
): Promise<{ period: number; complete: boolean; takenAt: number } | undefined> {
  return snapshotHeader(db).get({ captureId });
}

const snapshotHeader = preparedPerDatabase((db) =>
  db.select({
    period: captureSnapshots.period,
    complete: captureSnapshots.complete,
    takenAt: captureSnapshots.takenAt,
  }).from(captureSnapshots).where(eq(captureSnapshots.captureId, sql.placeholder("captureId")))
    .prepare()
);

/**
 * The stored series `types` of one statistic of a capture's snapshot, in one query; a type the
 * snapshot lacks (taken before the catalogue grew) is absent. Only the rows asked for are read.
 */
export async function findSnapshotSeries(
  db: Database,
  captureId: number,
  stat: string,
  types: readonly string[],
): Promise<StoredSeries[]> {
  const rows = await db.select().from(captureSnapshotSeries).where(and(
    eq(captureSnapshotSeries.captureId, captureId),
    eq(captureSnapshotSeries.stat, stat),
    inArray(captureSnapshotSeries.type, [...types]),
  ));
  return rows.map(({ captureId: _, ...series }) => series);
}

/** The conditions of a capture that needs a snapshot attempt at `now` and nobody is taking. */
function dueForSnapshot(options: { endedBefore: number; now: number }): SQL | undefined {
  return and(
    eq(captures.status, "DONE"),
    lte(captures.end, options.endedBefore),
    notExists(
      new QueryBuilder().select({ one: sql`1` }).from(captureSnapshots)
        .where(eq(captureSnapshots.captureId, captures.id)),
    ),
    or(
      isNull(captures.snapshotNextAttemptAt),
      lte(captures.snapshotNextAttemptAt, options.now),
    ),
    or(isNull(captures.snapshotLeaseUntil), lte(captures.snapshotLeaseUntil, options.now)),
  );
}

/** DONE captures that ended before `endedBefore`, have no snapshot, are due and unclaimed. */
export function capturesDueForSnapshot(
  db: Database,
  options: { endedBefore: number; now: number; limit: number },
) {
  return db.select().from(captures)
    .where(dueForSnapshot(options))
    .orderBy(captures.end)
    .limit(options.limit);
}

/** Who holds a snapshot claim: an instance's id, and until when (ms since the epoch, UTC). */
export interface SnapshotLease {
  owner: string;
  until: number;
}

/**
 * Claims a capture's snapshot for `lease.owner` in one conditional UPDATE, so only one instance
 * calls AWS for it; an expired lease (its instance crashed) can be claimed again. Resolves to the
 * claimed row, or undefined when it is no longer due or another instance holds it.
 */
export async function claimSnapshot(
  db: Database,
  captureId: number,
  lease: SnapshotLease,
  options: { endedBefore: number; now: number },
): Promise<CaptureRow | undefined> {
  const [row] = await db.update(captures)
    .set({ snapshotLeaseOwner: lease.owner, snapshotLeaseUntil: lease.until })
    .where(and(eq(captures.id, captureId), dueForSnapshot(options)))
    .returning();
  return row;
}

/** The lease condition of the claim holder's own writes: a lost lease writes nothing. */
function heldBy(captureId: number, owner: string) {
  return and(eq(captures.id, captureId), eq(captures.snapshotLeaseOwner, owner));
}

/**
 * Stores a snapshot (its header and one row a series) and releases the claim, if `owner` still
 * holds it; a second writer's rows are ignored. With a `quota`, the header is stored only while
 * the environment's snapshot bytes plus these series stay within it, checked in the same batch
 * (the caller has already left out what does not fit). Resolves "stored", "lost" (the lease was
 * lost: nothing stored) or "over-quota" (the environment grew meanwhile: nothing stored, the
 * claim released, so the next sweep tries again with what is left).
 */
export async function saveSnapshot(
  db: Database,
  snapshot: CaptureSnapshotRow,
  series: StoredSeries[],
  owner: string,
  quota?: SnapshotQuota,
): Promise<"stored" | "lost" | "over-quota"> {
  const held = heldBy(snapshot.captureId, owner);
  const bytes = series.reduce((sum, one) => sum + textBytes(one.datapoints), 0);
  const headerStored =
    sql`exists (select 1 from ${captureSnapshots} where ${captureSnapshots.captureId} = ${captures.id})`;
  const [header, ...rest] = await db.batch([
    db.insert(captureSnapshots).select(
      db.select(insertSelection(captureSnapshots, { ...snapshot, captureId: captures.id }))
        .from(captures).where(and(held, fitsQuota(quota, bytes))),
    ).onConflictDoNothing().returning({ captureId: captureSnapshots.captureId }),
    // Each series only under its own header: a header refused by the quota stores none.
    ...series.map((one) =>
      db.insert(captureSnapshotSeries).select(
        db.select(insertSelection(captureSnapshotSeries, { ...one, captureId: captures.id }))
          .from(captures).where(and(held, headerStored)),
      ).onConflictDoNothing()
    ),
    db.update(captures).set({
      snapshotError: null,
      snapshotNextAttemptAt: null,
      snapshotLeaseOwner: null,
      snapshotLeaseUntil: null,
    }).where(held).returning({ id: captures.id }),
  ]);
  const released = rest.at(-1) as unknown[];
  if (released.length === 0) return "lost";
  return (header as unknown[]).length > 0 ? "stored" : "over-quota";
}

/**
 * Records a failed attempt by the claim holder, releases the claim and sets when to try again;
 * `retryAt` null gives up for good.
 */
export async function recordSnapshotFailure(
  db: Database,
  captureId: number,
  owner: string,
  error: string,
  retryAt: number | null,
): Promise<void> {
  await db.update(captures).set({
    snapshotAttempts: sql`${captures.snapshotAttempts} + 1`,
    snapshotError: error,
    // Giving up is "never due": far enough in the future to drop out of the due query.
    snapshotNextAttemptAt: retryAt ?? Number.MAX_SAFE_INTEGER,
    snapshotLeaseOwner: null,
    snapshotLeaseUntil: null,
  }).where(heldBy(captureId, owner));
}

/**
 * What decides a stored snapshot answer, for a member of the capture's environment: the capture's
 * status fields (epoch ms, duration s) and its snapshot's `takenAt` (ms; null without one).
 */
export type SnapshotProbe = {
  id: number;
  status: CaptureRow["status"];
  scheduledStart: number | null;
  start: number | null;
  end: number | null;
  duration: number | null;
  takenAt: number | null;
};

const snapshotProbe = plainRows<SnapshotProbe, { id: number; userId: string }>((db) =>
  db.select({
    ...aliased({
      id: captures.id,
      status: captures.status,
      scheduledStart: captures.scheduledStart,
      start: captures.start,
      end: captures.end,
      duration: captures.duration,
    }),
    takenAt: sql<number | null>`${captureSnapshots.takenAt}`.as("takenAt"),
  }).from(captures)
    .innerJoin(
      memberships,
      and(eq(memberships.envId, captures.envId), eq(memberships.userId, sql.placeholder("userId"))),
    )
    .leftJoin(captureSnapshots, eq(captureSnapshots.captureId, captures.id))
    .where(eq(captures.id, sql.placeholder("id")))
    .limit(1)
);

/**
 * Capture `id`'s status fields (epoch ms, duration s) and its snapshot's `takenAt` (ms, null
 * without one) when `userId` may read it; undefined when the capture does not exist or `userId` is
 * not a member of its environment. One query.
 */
export async function findSnapshotProbe(
  db: Database,
  id: number,
  userId: string,
): Promise<SnapshotProbe | undefined> {
  const [row] = await snapshotProbe(db, { id, userId });
  return row;
}
