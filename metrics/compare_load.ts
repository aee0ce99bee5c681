/**
 * The database-load part of a comparison: per SQL digest seen in either capture, its load and
 * per-call latency on both sides, the change, and whether it is new (candidate only) or gone
 * (baseline only); per wait event, its load on both sides. Pure, no I/O; fed by capture_load.ts.
 */
import type { CaptureLoad } from "./capture_load.ts";
import { type Difference, difference } from "./compare.ts";

/** Whether a group is in both captures' top groups, only the candidate's, or only the baseline's. */
export type Presence = "both" | "new" | "gone";

/** One SQL digest on both sides. */
export interface ComparedDigest {
  key: string;
  label: string;
  status: Presence;
  baseline: { load: number; latencyMsPerCall: number | null } | null;
  candidate: { load: number; latencyMsPerCall: number | null } | null;
  change: { load: Difference; latencyMsPerCall: Difference };
}

/** One wait event on both sides. */
export interface ComparedWait {
  key: string;
  label: string;
  status: Presence;
  baseline: { load: number; share: number } | null;
  candidate: { load: number; share: number } | null;
  change: { load: Difference };
}

/** The load comparison, or why there is none (it never fails the comparison of metrics). */
export type LoadComparison =
  | {
    available: true;
    total: { baseline: number; candidate: number; change: Difference };
    sql: ComparedDigest[];
    waits: ComparedWait[];
  }
  | {
    available: false;
    reason: string;
    /** True when Performance Insights is throttling or timed out: ask again after `retryAfter` s. */
    retryable: boolean;
    retryAfter?: number;
  };

/** Both captures' load by SQL and by wait (capture_load.ts answers) compared. */
export function compareLoad(
  baseline: { sql: CaptureLoad; wait: CaptureLoad },
  candidate: { sql: CaptureLoad; wait: CaptureLoad },
): LoadComparison & { available: true } {
  const keys = <G extends { key: string }>(a: G[], b: G[]) => [
    ...new Set([...a.map((g) => g.key), ...b.map((g) => g.key)]),
  ];
  const presence = (b: unknown, c: unknown): Presence => b && c ? "both" : c ? "new" : "gone";

  const sql = keys(baseline.sql.groups, candidate.sql.groups).map((key): ComparedDigest => {
    const b = baseline.sql.groups.find((g) => g.key === key);
    const c = candidate.sql.groups.find((g) => g.key === key);
    const side = (g: typeof b) =>
      g ? { load: g.load, latencyMsPerCall: g.stats?.latencyMsPerCall ?? null } : null;
    return {
      key,
      label: (c ?? b)!.label,
      status: presence(b, c),
      baseline: side(b),
      candidate: side(c),
      change: {
        load: difference(b?.load ?? 0, c?.load ?? 0),
        latencyMsPerCall: difference(
          b?.stats?.latencyMsPerCall ?? null,
          c?.stats?.latencyMsPerCall ?? null,
        ),
      },
    };
  }).sort(byLargestLoad);

  const waits = keys(baseline.wait.groups, candidate.wait.groups).map((key): ComparedWait => {
    const b = baseline.wait.groups.find((g) => g.key === key);
    const c = candidate.wait.groups.find((g) => g.key === key);
    const side = (g: typeof b) => g ? { load: g.load, share: g.share } : null;
    return {
      key,
      label: (c ?? b)!.label,
      status: presence(b, c),
      baseline: side(b),
      candidate: side(c),
      change: { load: difference(b?.load ?? 0, c?.load ?? 0) },
    };
  }).sort(byLargestLoad);

  return {
    available: true,
    total: {
      baseline: baseline.wait.total.load,
      candidate: candidate.wait.total.load,
      change: difference(baseline.wait.total.load, candidate.wait.total.load),
    },
    sql,
    waits,
  };
}

/** Largest load on either side first; ties by key, so the order is stable. */
function byLargestLoad(
  a: { key: string; baseline: { load: number } | null; candidate: { load: number } | null },
  b: typeof a,
): number {
  const most = (x: typeof a) => Math.max(x.baseline?.load ?? 0, x.candidate?.load ?? 0);
  return most(b) - most(a) || a.key.localeCompare(b.key);
}
