import {
  fromSnapshotOnly,
  type MetricsDeps,
  type MetricsQuery,
} from "../metrics/capture_metrics.ts";
import {
  type CaptureLoad,
  type LoadDeps,
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
    messages: Array<{ captureId: number; messages: string[] }>;
  }
  | ComparisonRefusal;

/**
 * Capture `candidateId` compared with `baselineId` for `userId`, who must be a member of both
 * captures' environments (404 for either, before any AWS call). Each is read like its metrics:
 * from its snapshot, else one GetMetricData call. Without `period` each gets its own default; when
 * those differ, the capture(s) not at their common multiple are read again at it.
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
  const load = loadDeps?.pi ? await loadComparison(loadDeps, baseline, candidate, now) : undefined;
  return {
    ok: true,
    comparison: load ? { ...comparison, load: load.comparison } : comparison,
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
 * Performance Insights), compared; when either side has none, why (never a refusal).
 */
async function loadComparison(
  deps: LoadDeps,
  baseline: VisibleCapture,
  candidate: VisibleCapture,
  now: Date,
): Promise<{ comparison: LoadComparison; fromSnapshots: boolean }> {
  const read = async (side: VisibleCapture, groupBy: "sql" | "wait") => {
    const outcome = await readCaptureLoad(deps, side.capture, side.env, {
      groupBy,
      limit: MAX_LOAD_GROUPS,
    }, now);
    return outcome.ok
      ? outcome.load
      : `Capture ${side.capture.id}: ${
        outcome.kind === "upstream"
          ? `${outcome.error.service}: ${outcome.error.message}`
          : outcome.message
      }`;
  };
  const loads = [
    await read(baseline, "sql"),
    await read(baseline, "wait"),
    await read(candidate, "sql"),
    await read(candidate, "wait"),
  ];
  const missing = loads.find((l): l is string => typeof l === "string");
  if (missing !== undefined) {
    return { comparison: { available: false, reason: missing }, fromSnapshots: false };
  }
  const [bs, bw, cs, cw] = loads as CaptureLoad[];
  return {
    comparison: compareLoad({ sql: bs, wait: bw }, { sql: cs, wait: cw }),
    fromSnapshots: (loads as CaptureLoad[]).every((l) => l.source === "snapshot"),
  };
}
