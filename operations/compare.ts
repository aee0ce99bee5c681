import type { MetricsDeps, MetricsQuery } from "../metrics/capture_metrics.ts";
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
    comparison: Comparison;
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
  return {
    ok: true,
    comparison,
    fromSnapshots: b.metrics.source === "snapshot" && c.metrics.source === "snapshot" &&
      comparison.complete,
    messages: [
      { captureId: baselineId, messages: b.messages },
      { captureId: candidateId, messages: c.messages },
    ],
  };
}
