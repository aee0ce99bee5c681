import { and, eq, isNull, lte, or, sql } from "drizzle-orm";
import type { Database } from "./client.ts";
import { captures, type CaptureSnapshotRow, captureSnapshots } from "./schema.ts";

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

/** DONE captures that ended before `endedBefore`, have no snapshot and are due an attempt. */
export function capturesDueForSnapshot(
  db: Database,
  options: { endedBefore: number; now: number; limit: number },
) {
  return db.select().from(captures)
    .where(and(
      eq(captures.status, "DONE"),
      lte(captures.end, options.endedBefore),
      sql`NOT EXISTS (SELECT 1 FROM capture_snapshots s WHERE s.capture_id = ${captures.id})`,
      or(
        isNull(captures.snapshotNextAttemptAt),
        lte(captures.snapshotNextAttemptAt, options.now),
      ),
    ))
    .orderBy(captures.end)
    .limit(options.limit);
}

/** Stores a snapshot once; a second writer's insert is ignored. */
export async function saveSnapshot(
  db: Database,
  snapshot: CaptureSnapshotRow,
): Promise<void> {
  await db.batch([
    db.insert(captureSnapshots).values(snapshot).onConflictDoNothing(),
    db.update(captures).set({ snapshotError: null, snapshotNextAttemptAt: null })
      .where(eq(captures.id, snapshot.captureId)),
  ]);
}

/** Records a failed attempt and when to try again; `retryAt` null gives up for good. */
export async function recordSnapshotFailure(
  db: Database,
  captureId: number,
  error: string,
  retryAt: number | null,
): Promise<void> {
  await db.update(captures).set({
    snapshotAttempts: sql`${captures.snapshotAttempts} + 1`,
    snapshotError: error,
    // Giving up is "never due": far enough in the future to drop out of the due query.
    snapshotNextAttemptAt: retryAt ?? Number.MAX_SAFE_INTEGER,
  }).where(eq(captures.id, captureId));
}
