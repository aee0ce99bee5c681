/**
 * The database-load part of a comparison: per SQL digest seen in either capture, its load and
 * per-call latency on both sides, the change, and whether it is new (candidate only) or gone
 * (baseline only); per wait event, its load on both sides. Pure, no I/O; fed by capture_load.ts.
 */
import type { CaptureLoad, LoadGroup as Group } from "./capture_load.ts";
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
  const sql = paired(
    baseline.sql.groups,
    candidate.sql.groups,
    (g) => ({ load: g.load, latencyMsPerCall: g.stats?.latencyMsPerCall ?? null }),
    (b, c) => ({
      load: difference(b?.load ?? 0, c?.load ?? 0),
      latencyMsPerCall: difference(
        b?.stats?.latencyMsPerCall ?? null,
        c?.stats?.latencyMsPerCall ?? null,
      ),
    }),
  );
  const waits = paired(
    baseline.wait.groups,
    candidate.wait.groups,
    (g) => ({ load: g.load, share: g.share }),
    (b, c) => ({ load: difference(b?.load ?? 0, c?.load ?? 0) }),
  );

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

/** Every key in either side's groups, each with both sides, its presence and its change. */
function paired<S extends { load: number }, C>(
  baseline: Group[],
  candidate: Group[],
  side: (g: Group) => S,
  change: (b: Group | undefined, c: Group | undefined) => C,
) {
  const keys = [...new Set([...baseline.map((g) => g.key), ...candidate.map((g) => g.key)])];
  return keys.map((key) => {
    const b = baseline.find((g) => g.key === key);
    const c = candidate.find((g) => g.key === key);
    const status: Presence = b && c ? "both" : c ? "new" : "gone";
    return {
      key,
      label: (c ?? b)!.label,
      status,
      baseline: b ? side(b) : null,
      candidate: c ? side(c) : null,
      change: change(b, c),
    };
  }).sort(byLargestLoad);
}

/** Largest load on either side first; ties by key, so the order is stable. */
function byLargestLoad(
  a: { key: string; baseline: { load: number } | null; candidate: { load: number } | null },
  b: typeof a,
): number {
  const most = (x: typeof a) => Math.max(x.baseline?.load ?? 0, x.candidate?.load ?? 0);
  return most(b) - most(a) || a.key.localeCompare(b.key);
}
