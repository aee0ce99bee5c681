import { metricInfo, type MetricType } from "./catalogue.ts";
import type { Database } from "../db/client.ts";
import { Lock } from "../db/lock.ts";
import { findSnapshotSeries } from "../db/snapshots.ts";
import { isoTime } from "../iso_time.ts";
import { snapshotCacheOf } from "./snapshot_cache.ts";
import type { MetricSeries } from "./cloudwatch.ts";
import type { NamedStat } from "./period.ts";

/** The statistics a snapshot keeps; other stats are read from CloudWatch. */
export const SNAPSHOT_STATS = [
  "Average",
  "Minimum",
  "Maximum",
] as const satisfies readonly NamedStat[];
export type SnapshotStat = typeof SNAPSHOT_STATS[number];

export const isSnapshotStat = (stat: string): stat is SnapshotStat =>
  (SNAPSHOT_STATS as readonly string[]).includes(stat);

/**
 * A snapshot's stored series (of capture `captureId`, the snapshot taken at `takenAt`) of one
 * stat for `types`, parsed and re-bucketed from the stored period to `period` (a multiple of it) in buckets counted from `origin` (epoch seconds, the
 * window's start): the mean of averages, the least minimum, the greatest maximum. A type the
 * snapshot lacks (taken before the catalogue grew) comes back empty and incomplete and is named in
 * `lacking`, for the caller to ask CloudWatch. Long series are parsed one at a time with a yield
 * to the event loop between them, so other requests do not wait for all of them. Answers are
 * remembered (snapshot_cache.ts; the caller has checked access): the same read again costs no
 * query, parse or re-bucketing. The series returned are shared with later reads and must not be
 * changed.
 */
export async function seriesFromSnapshot(
  db: Database,
  { captureId, takenAt }: { captureId: number; takenAt: number },
  stat: SnapshotStat,
  types: MetricType[],
  period: number,
  origin: number,
): Promise<{ series: MetricSeries[]; lacking: MetricType[] }> {
  const cache = snapshotCacheOf(db);
  const key = `series:${captureId}:${takenAt}:${stat}:${period}:${origin}:${types.join(",")}`;
  const cached = cache.get(key) as { series: MetricSeries[]; lacking: MetricType[] } | undefined;
  if (cached !== undefined) return cached;
  // One long snapshot read at a time per process: each parses megabytes on the event loop, and
  // taking turns keeps the loop's slices short for every other request.
  const release = await snapshotReads.acquire();
  try {
    const stored = new Map(
      (await findSnapshotSeries(db, captureId, stat, types)).map((s) => [s.type, s]),
    );
    const series: MetricSeries[] = [];
    for (const type of types) {
      const held = stored.get(type);
      if (!held) {
        series.push(emptySeries(type));
        continue;
      }
      const { label, unit, complete, datapoints } = held;
      const points = JSON.parse(datapoints) as StoredPoint[];
      series.push({
        type,
        label,
        unit,
        complete,
        datapoints: rebucket(points, stat, period, origin),
      });
      // A timer, not a microtask: only a timer lets waiting connections in between series.
      if (points.length > LONG_SERIES) await new Promise((resolve) => setTimeout(resolve, 0));
    }
    // Frozen: shared with every later read, so a caller that changed one would throw, not leak.
    for (const one of series) {
      for (const point of one.datapoints) Object.freeze(point);
      Object.freeze(one.datapoints);
      Object.freeze(one);
    }
    const answer = Object.freeze({
      series: Object.freeze(series) as MetricSeries[],
      lacking: Object.freeze(types.filter((type) => !stored.has(type))) as MetricType[],
    });
    cache.set(key, answer, estimatedBytes(series));
    return answer;
  } finally {
    release();
  }
}

/** A series with no points, marked incomplete: what a source that could not answer gives. */
export function emptySeries(type: MetricType): MetricSeries {
  const { label, unit } = metricInfo(type);
  return { type, label, unit, complete: false, datapoints: [] };
}

/** Roughly what `series` occupy in memory: a datapoint is an object, a 24-character string, a number. */
function estimatedBytes(series: MetricSeries[]): number {
  let bytes = 0;
  for (const one of series) {
    bytes += 128 + 2 * (one.label.length + one.unit.length) + 96 * one.datapoints.length;
  }
  return bytes;
}

/** Points past which parsing a series takes long enough to yield after it (1 day at 60 s). */
const LONG_SERIES = 1_440;
const snapshotReads = new Lock();

/** A stored datapoint: epoch seconds (UTC) and value; compact, so a long window parses fast. */
export type StoredPoint = [seconds: number, value: number];

/** The stored form of a series' datapoints (JSON of StoredPoint[], ascending). */
export function encodeDatapoints(points: MetricSeries["datapoints"]): string {
  return JSON.stringify(points.map((p): StoredPoint => [Date.parse(p.timestamp) / 1000, p.value]));
}

/** Stored points (ascending) merged by `stat`'s rule into `period`-second buckets counted from `origin`. */
export function rebucket(
  points: StoredPoint[],
  stat: SnapshotStat,
  period: number,
  origin: number,
) {
  const out: MetricSeries["datapoints"] = [];
  let bucket = Number.NaN;
  let sum = 0;
  let count = 0;
  let extreme = 0;
  const flush = () => {
    if (count === 0) return;
    const value = stat === "Average" ? sum / count : extreme;
    out.push({ timestamp: isoTime(bucket * 1000), value });
  };
  for (const [seconds, value] of points) {
    const at = origin + Math.floor((seconds - origin) / period) * period;
    if (at !== bucket) {
      flush();
      bucket = at;
      sum = 0;
      count = 0;
      extreme = value;
    }
    sum += value;
    count++;
    if (stat === "Minimum" ? value < extreme : value > extreme) extreme = value;
  }
  flush();
  return out;
}
