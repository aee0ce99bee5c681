/** Baseline-versus-candidate comparison of two captures' metrics; pure, no I/O. */
import type { MetricType } from "./catalogue.ts";
import type { CaptureMetrics } from "./capture_metrics.ts";
import { alignWindow } from "./period.ts";

/** Statistics of one series over the compared window; all null when it has no points. */
export interface Summary {
  count: number;
  mean: number | null;
  min: number | null;
  max: number | null;
  /** Percentiles by linear interpolation between closest ranks (R-7, as NumPy and d3). */
  p50: number | null;
  p95: number | null;
}

/** A point on the relative axis: seconds from the capture's first period. */
export interface OffsetPoint {
  offset: number;
  value: number;
}

/** Candidate minus baseline; `relative` is that over |baseline| (0.25 = 25 % more), null at 0. */
export interface Difference {
  absolute: number | null;
  relative: number | null;
}

/** One metric of both captures. */
export interface ComparedSeries {
  type: MetricType;
  label: string;
  unit: string;
  baseline: { complete: boolean; summary: Summary; datapoints: OffsetPoint[] };
  candidate: { complete: boolean; summary: Summary; datapoints: OffsetPoint[] };
  change: { mean: Difference; p95: Difference; max: Difference };
}

/** Which capture a side is, and its own window (ISO-8601 UTC). */
export interface ComparedCapture {
  captureId: number;
  name: string;
  start: string;
  end: string;
  /** The capture's own length in seconds; only the common length is compared. */
  duration: number;
  source: CaptureMetrics["source"];
}

/** The body of GET /api/captures/{id}/compare. */
export interface Comparison {
  baseline: ComparedCapture;
  candidate: ComparedCapture;
  period: number;
  stat: string;
  /** Seconds compared from each start: the shorter capture's length. */
  commonDuration: number;
  complete: boolean;
  series: ComparedSeries[];
}

/** R-7 percentile (0–1) of ascending `sorted`; undefined for none. */
function percentile(sorted: number[], p: number): number {
  const h = (sorted.length - 1) * p;
  const low = Math.floor(h);
  const high = Math.min(sorted.length - 1, low + 1);
  return sorted[low] + (h - low) * (sorted[high] - sorted[low]);
}

/** count, mean, min, max, p50 and p95 of `values`. */
export function summarize(values: number[]): Summary {
  if (values.length === 0) {
    return { count: 0, mean: null, min: null, max: null, p50: null, p95: null };
  }
  const sorted = [...values].sort((a, b) => a - b);
  const sum = sorted.reduce((total, v) => total + v, 0);
  return {
    count: sorted.length,
    mean: sum / sorted.length,
    min: sorted[0],
    max: sorted[sorted.length - 1],
    p50: percentile(sorted, 0.5),
    p95: percentile(sorted, 0.95),
  };
}

/** candidate − baseline, and that relative to |baseline|; null where either is, or baseline is 0. */
export function difference(baseline: number | null, candidate: number | null): Difference {
  if (baseline === null || candidate === null) return { absolute: null, relative: null };
  const absolute = candidate - baseline;
  return { absolute, relative: baseline === 0 ? null : absolute / Math.abs(baseline) };
}

/**
 * A series' points on the relative axis: seconds from the first period of the capture's window
 * (where CloudWatch and snapshots stamp their first point), keeping those before `length`.
 */
export function toOffsets(
  datapoints: Array<{ timestamp: string; value: number }>,
  origin: number,
  length: number,
): OffsetPoint[] {
  const out: OffsetPoint[] = [];
  for (const p of datapoints) {
    const offset = Date.parse(p.timestamp) / 1000 - origin;
    if (offset >= 0 && offset < length) out.push({ offset, value: p.value });
  }
  return out;
}

/** The first period's start (epoch s) of a capture's answer: its start's minute. */
export function originOf(metrics: CaptureMetrics): number {
  return alignWindow(new Date(metrics.start), new Date(metrics.end), metrics.period).startTime;
}

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

/** The least period (seconds) both captures can be read at: the common multiple of theirs. */
export const commonPeriod = (a: number, b: number) => a / gcd(a, b) * b;

const durationOf = (m: CaptureMetrics) => (Date.parse(m.end) - Date.parse(m.start)) / 1000;

/**
 * Puts two captures' metrics (read at the same period and stat) on one relative axis and compares
 * them over their common length. Series are matched by type in the baseline's order.
 */
export function compareMetrics(
  baseline: { name: string; metrics: CaptureMetrics },
  candidate: { name: string; metrics: CaptureMetrics },
): Comparison {
  const b = baseline.metrics;
  const c = candidate.metrics;
  // At least one period, so a capture stopped in its first minute still shows its point.
  const commonDuration = Math.max(Math.min(durationOf(b), durationOf(c)), b.period);
  const side = (m: CaptureMetrics, type: MetricType) => {
    const s = m.series.find((one) => one.type === type);
    const datapoints = s ? toOffsets(s.datapoints, originOf(m), commonDuration) : [];
    return {
      complete: s?.complete ?? false,
      summary: summarize(datapoints.map((p) => p.value)),
      datapoints,
    };
  };
  const series = b.series.map((s): ComparedSeries => {
    const base = side(b, s.type);
    const cand = side(c, s.type);
    return {
      type: s.type,
      label: s.label,
      unit: s.unit,
      baseline: base,
      candidate: cand,
      change: {
        mean: difference(base.summary.mean, cand.summary.mean),
        p95: difference(base.summary.p95, cand.summary.p95),
        max: difference(base.summary.max, cand.summary.max),
      },
    };
  });
  const describe = (name: string, m: CaptureMetrics): ComparedCapture => ({
    captureId: m.captureId,
    name,
    start: m.start,
    end: m.end,
    duration: durationOf(m),
    source: m.source,
  });
  return {
    baseline: describe(baseline.name, b),
    candidate: describe(candidate.name, c),
    period: b.period,
    stat: b.stat,
    commonDuration,
    complete: b.complete && c.complete,
    series,
  };
}
