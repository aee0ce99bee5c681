import type { Database } from "../db/client.ts";
import { findSnapshotHeader, findSnapshotSeries } from "../db/snapshots.ts";
import { metricInfo, type MetricType } from "./catalogue.ts";
import type { MetricSeries } from "./cloudwatch.ts";
import { alignWindow, choosePeriod } from "./period.ts";
import { isSnapshotStat, rebucket, type StoredPoint } from "./snapshot_series.ts";

/**
 * The last resort for a snapshot taken before the catalogue grew, once CloudWatch can no longer
 * answer the window at the asked period: the series the snapshot holds, and the ones it lacks
 * empty and incomplete. Undefined when there is no snapshot that could serve that period.
 */
export async function heldSnapshotSeries(
  db: Database,
  captureId: number,
  query: { types: MetricType[]; stat: string; period?: number },
  start: Date,
  end: Date,
): Promise<{ period: number; series: MetricSeries[] } | undefined> {
  if (!isSnapshotStat(query.stat)) return undefined;
  const snapshot = await findSnapshotHeader(db, captureId);
  if (!snapshot) return undefined;
  // The snapshot's own age does not matter: it is ours, not CloudWatch's.
  const choice = choosePeriod({ start, end, now: start, requested: query.period });
  if (!choice.ok || choice.period % snapshot.period !== 0) return undefined;
  const { startTime } = alignWindow(start, end, choice.period);
  const stored = new Map(
    (await findSnapshotSeries(db, captureId, query.stat, query.types)).map((s) => [s.type, s]),
  );
  const series = query.types.map((type): MetricSeries => {
    const held = stored.get(type);
    if (!held) {
      const { label, unit } = metricInfo(type);
      return { type, label, unit, complete: false, datapoints: [] };
    }
    const points = JSON.parse(held.datapoints) as StoredPoint[];
    return {
      type,
      label: held.label,
      unit: held.unit,
      complete: held.complete,
      datapoints: rebucket(points, query.stat as "Average", choice.period, startTime),
    };
  });
  return { period: choice.period, series };
}
