import { and, eq, isNull, lte, or, type SQL, sql } from "drizzle-orm";
import type { Database } from "./client.ts";
import { type CaptureRow, captures, type CaptureSnapshotRow, captureSnapshots } from "./schema.ts";

/** The stored snapshot of a capture, or undefined. */
export async function findSnapshot(
  db: Database,
  captureId: number,
): Promise<CaptureSnapshotRow | undefined> {
  const [row] = await db.select().from(captureSnapshots)
    .where(eq(captureSnapshots.captureId, captureId));
  return row;
}

/** One statistic of a stored snapshot, its series still JSON text (null if it lacks the stat). */
export interface SnapshotStat {
  period: number;
  complete: boolean;
  series: string | null;
}

/**
 * Reads one statistic of a capture's snapshot, or undefined when it has none. SQLite extracts it,
 * so the rest of the payload (the other stats, megabytes for a long window) is never parsed here.
 */
export async function findSnapshotStat(
  db: Database,
  captureId: number,
  stat: string,
): Promise<SnapshotStat | undefined> {
  const [row] = await db.select({
    period: captureSnapshots.period,
    complete: sql<number | null>`json_extract(${captureSnapshots.payload}, '$.complete')`,
    // An array comes back as its JSON text.
    series: sql<string | null>`json_extract(${captureSnapshots.payload}, '$.stats.' || ${stat})`,
  }).from(captureSnapshots).where(eq(captureSnapshots.captureId, captureId));
  return row && { period: row.period, complete: Number(row.complete) === 1, series: row.series };
}

/** The conditions of a capture that needs a snapshot attempt at `now` and nobody is taking. */
function dueForSnapshot(options: { endedBefore: number; now: number }): SQL | undefined {
  return and(
    eq(captures.status, "DONE"),
    lte(captures.end, options.endedBefore),
    sql`NOT EXISTS (SELECT 1 FROM capture_snapshots s WHERE s.capture_id = ${captures.id})`,
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
 * Stores a snapshot and releases the claim, if `owner` still holds it; a second writer's insert
 * is ignored. Resolves false when the lease was lost (nothing stored).
 */
export async function saveSnapshot(
  db: Database,
  snapshot: CaptureSnapshotRow,
  owner: string,
): Promise<boolean> {
  const [, released] = await db.batch([
    db.insert(captureSnapshots).select(
      db.select({
        captureId: captures.id,
        period: sql`${snapshot.period}`.as("period"),
        start: sql`${snapshot.start}`.as("start"),
        end: sql`${snapshot.end}`.as("end"),
        payload: sql`${snapshot.payload}`.as("payload"),
        takenAt: sql`${snapshot.takenAt}`.as("taken_at"),
      }).from(captures).where(heldBy(snapshot.captureId, owner)),
    ).onConflictDoNothing(),
    db.update(captures).set({
      snapshotError: null,
      snapshotNextAttemptAt: null,
      snapshotLeaseOwner: null,
      snapshotLeaseUntil: null,
    }).where(heldBy(snapshot.captureId, owner)).returning({ id: captures.id }),
  ]);
  return released.length > 0;
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
