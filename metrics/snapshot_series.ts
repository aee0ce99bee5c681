import type { MetricType } from "./catalogue.ts";
import type { MetricSeries } from "./cloudwatch.ts";

/** The statistics a snapshot keeps; other stats are read from CloudWatch. */
export const SNAPSHOT_STATS = ["Average", "Minimum", "Maximum"] as const;
export type SnapshotStat = typeof SNAPSHOT_STATS[number];

/** What capture_snapshots.payload holds. */
export interface SnapshotPayload {
  version: 1;
  complete: boolean;
  stats: Record<SnapshotStat, MetricSeries[]>;
}

export const isSnapshotStat = (stat: string): stat is SnapshotStat =>
  (SNAPSHOT_STATS as readonly string[]).includes(stat);

/**
 * A snapshot's series of one stat (`payload.stats[stat]`) for `types`, re-bucketed from its stored
 * period to `period` (a multiple of it) in buckets counted from `origin` (epoch seconds, the
 * window's start): the mean of averages, the least minimum, the greatest maximum.
 */
export function seriesFromSnapshot(
  statSeries: MetricSeries[],
  stat: SnapshotStat,
  types: MetricType[],
  period: number,
  origin: number,
): MetricSeries[] {
  const stored = new Map(statSeries.map((s) => [s.type, s]));
  return types.map((type) => {
    const series = stored.get(type);
    if (!series) throw new Error(`Snapshot has no ${stat} series for ${type}`);
    return { ...series, datapoints: rebucket(series.datapoints, stat, period, origin) };
  });
}

function rebucket(
  points: MetricSeries["datapoints"],
  stat: SnapshotStat,
  period: number,
  origin: number,
) {
  const buckets = new Map<number, number[]>();
  for (const point of points) {
    const seconds = Date.parse(point.timestamp) / 1000;
    const bucket = origin + Math.floor((seconds - origin) / period) * period;
    const values = buckets.get(bucket) ?? [];
    values.push(point.value);
    buckets.set(bucket, values);
  }
  return [...buckets.entries()].sort(([a], [b]) => a - b).map(([bucket, values]) => ({
    timestamp: new Date(bucket * 1000).toISOString(),
    value: stat === "Minimum"
      ? Math.min(...values)
      : stat === "Maximum"
      ? Math.max(...values)
      : values.reduce((sum, v) => sum + v, 0) / values.length,
  }));
}
