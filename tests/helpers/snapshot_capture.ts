// A DONE capture with a stored snapshot, written straight to the database: metrics answers from
// it need no CloudWatch.
import { captures, captureSnapshots, captureSnapshotSeries } from "../../db/schema.ts";
import type { Database } from "../../db/client.ts";
import { METRIC_TYPES } from "../../metrics/catalogue.ts";
import type { TestContext } from "./context.ts";

const HOUR_MS = 3_600_000;

/** Stores capture `captureId`'s snapshot over [start, end) at 60 s, every value `value`. */
export async function storeSnapshot(
  db: Database,
  captureId: number,
  window: { start: number; end: number; takenAt: number },
  value: number,
) {
  const { start, end, takenAt } = window;
  await db.insert(captureSnapshots).values({
    captureId,
    period: 60,
    start,
    end,
    complete: true,
    takenAt,
  });
  const points = (end - start) / 60_000;
  const datapoints = JSON.stringify(
    Array.from({ length: points }, (_, i) => [start / 1000 + 60 * i, value]),
  );
  await db.insert(captureSnapshotSeries).values(METRIC_TYPES.map((type) => ({
    captureId,
    stat: "Average",
    type,
    label: type,
    unit: "None",
    complete: true,
    datapoints,
  })));
}

/** A DONE capture of `hours` hours ending `endedAgoMs` (default 1 h) before the test clock's now, with a snapshot of `value`s. */
export async function captureWithSnapshot(
  t: TestContext,
  envId: number,
  value: number,
  options: { hours?: number; endedAgoMs?: number } = {},
) {
  const now = t.clock().getTime();
  const end = now - (options.endedAgoMs ?? HOUR_MS);
  const start = end - (options.hours ?? 1) * HOUR_MS;
  const [capture] = await t.db.insert(captures).values({
    envId,
    ownerId: "owner",
    name: `snap-${crypto.randomUUID().slice(0, 8)}`,
    status: "DONE",
    start,
    end,
    duration: (end - start) / 1000,
    createdAt: start,
    updatedAt: end,
  }).returning();
  await storeSnapshot(t.db, capture.id, { start, end, takenAt: end }, value);
  return { id: capture.id, start, end };
}
