import {
  fromSnapshotOnly,
  type MetricsDeps,
  type MetricsQuery,
} from "../metrics/capture_metrics.ts";
import {
  type CaptureLoad,
  type LoadDeps,
  type LoadOutcome,
  MAX_LOAD_GROUPS,
  readCaptureLoad,
} from "../metrics/capture_load.ts";
import { compareLoad, type LoadComparison } from "../metrics/compare_load.ts";
import { commonPeriod, compareMetrics, type Comparison } from "../metrics/compare.ts";
import {
  type CaptureMetricsOutcome,
  findVisibleCapture,
  readVisibleCaptureMetrics,
  type VisibleCapture,
} from "./captures.ts";

type Read = Extract<CaptureMetricsOutcome, { ok: true }>;

/**
 * A refusal of one capture of a comparison; `about` names which ("Baseline capture 4: ") in front
 * of its detail, empty for a 404 whose detail names the capture already.
 */
export type ComparisonRefusal = Extract<CaptureMetricsOutcome, { ok: false }> & { about: string };

/** The comparison, whether it came wholly from complete snapshots, and each side's CloudWatch remarks. */
export type ComparisonOutcome =
  | {
    ok: true;
    comparison: Comparison & { load?: LoadComparison };
    fromSnapshots: boolean;
    /** When `load` is unavailable: the first side's reason as a refusal (chart answers map it). */
    loadRefusal?: LoadRefusal;
    messages: Array<{ captureId: number; messages: string[] }>;
  }
  | ComparisonRefusal;

/** Why one side has no load, with which capture it is about. */
export type LoadRefusal = Exclude<LoadOutcome, { ok: true }> & { about: string };

/**
 * Capture `candidateId` compared with `baselineId` for `userId`, who must be a member of both
 * captures' environments (404 for either, before any AWS call). Each is read like its metrics:
 * from its snapshot, else one GetMetricData call. Without `period` each gets its own default; when
 * those differ, the capture(s) not at their common multiple are read again at it. The load part
 * is read only when `withLoad` (never a Performance Insights call otherwise), in parallel with
 * the metrics.
 */
export async function compareCapturesFor(
  deps: MetricsDeps,
  candidateId: number,
  baselineId: number,
  userId: string,
  query: MetricsQuery,
  now: Date,
  /** Performance Insights for the `load` part; without it the comparison has no `load`. */
  loadDeps?: LoadDeps,
  /** Whether the answer uses the load part (`?include=load`, `compare.svg?view=load`). */
  withLoad = false,
): Promise<ComparisonOutcome> {
  const candidate = await findVisibleCapture(deps.db, candidateId, userId);
  if (!candidate.ok) return { ...candidate, about: "" };
  const baseline = await findVisibleCapture(deps.db, baselineId, userId);
  if (!baseline.ok) return { ...baseline, about: "" };

  const sides: Array<[about: string, VisibleCapture]> = [
    [`Baseline capture ${baselineId}: `, baseline],
    [`Candidate capture ${candidateId}: `, candidate],
  ];
  const read = (i: number, period: number | undefined) =>
    readVisibleCaptureMetrics(deps, sides[i][1], { ...query, period }, now);
  const firstRefusal = (outcomes: CaptureMetricsOutcome[]): ComparisonRefusal | undefined => {
    const i = outcomes.findIndex((o) => !o.ok);
    const failed = outcomes[i];
    return failed && !failed.ok ? { ...failed, about: sides[i][0] } : undefined;
  };

  const loading = withLoad && loadDeps?.pi
    ? loadComparison(loadDeps, baseline, candidate, now)
    : undefined;
  // A refusal of the metrics returns early; the load read still settles, its outcome unused.
  loading?.catch(() => {});
  let outcomes: CaptureMetricsOutcome[] = await Promise.all([
    read(0, query.period),
    read(1, query.period),
  ]);
  const refused = firstRefusal(outcomes);
  if (refused) return refused;
  const periods = (outcomes as Read[]).map((o) => o.metrics.period);
  if (periods[0] !== periods[1]) {
    const common = commonPeriod(periods[0], periods[1]);
    outcomes = await Promise.all(
      periods.map((period, i) => period === common ? outcomes[i] : read(i, common)),
    );
    const refusedAgain = firstRefusal(outcomes);
    if (refusedAgain) return refusedAgain;
  }
  const [b, c] = outcomes as Read[];
  const comparison = compareMetrics(b, c);
  const load = await loading;
  return {
    ok: true,
    comparison: load ? { ...comparison, load: load.comparison } : comparison,
    ...(load?.refusal ? { loadRefusal: load.refusal } : {}),
    fromSnapshots: fromSnapshotOnly(b.metrics) && fromSnapshotOnly(c.metrics) &&
      comparison.complete && (load === undefined || load.fromSnapshots),
    messages: [
      { captureId: baselineId, messages: b.messages },
      { captureId: candidateId, messages: c.messages },
    ],
  };
}

/**
 * Both captures' load by SQL digest and by wait (top 25 each, from their snapshots or
 * Performance Insights, the four reads in parallel), compared; when either side has none, why
 * (never a refusal of the comparison): `retryable` with `retryAfter` seconds when Performance
 * Insights is throttling or timed out, so a client can tell "later" from "never".
 */
async function loadComparison(
  deps: LoadDeps,
  baseline: VisibleCapture,
  candidate: VisibleCapture,
  now: Date,
): Promise<{ comparison: LoadComparison; fromSnapshots: boolean; refusal?: LoadRefusal }> {
  const read = (side: VisibleCapture, groupBy: "sql" | "wait") =>
    readCaptureLoad(deps, side.capture, side.env, { groupBy, limit: MAX_LOAD_GROUPS }, now);
  const sides = [baseline, baseline, candidate, candidate];
  const outcomes = await Promise.all([
    read(baseline, "sql"),
    read(baseline, "wait"),
    read(candidate, "sql"),
    read(candidate, "wait"),
  ]);
  const failed = outcomes.findIndex((o) => !o.ok);
  if (failed >= 0) {
    const outcome = outcomes[failed] as Exclude<LoadOutcome, { ok: true }>;
    const about = `Capture ${sides[failed].capture.id}: `;
    const upstream = outcome.kind === "upstream" ? outcome.error : undefined;
    const retryable = upstream?.kind === "throttled" || upstream?.kind === "timeout";
    return {
      comparison: {
        available: false,
        reason: about +
          (outcome.kind === "upstream"
            ? `${outcome.error.service}: ${outcome.error.message}`
            : outcome.message),
        retryable,
        ...(retryable ? { retryAfter: upstream?.retryAfterSeconds ?? 5 } : {}),
      },
      fromSnapshots: false,
      refusal: { ...outcome, about },
    };
  }
  const [bs, bw, cs, cw] = outcomes.map((o) => (o as { load: CaptureLoad }).load);
  return {
    comparison: compareLoad({ sql: bs, wait: bw }, { sql: cs, wait: cw }),
    fromSnapshots: [bs, bw, cs, cw].every((l) => l.source === "snapshot"),
  };
}
