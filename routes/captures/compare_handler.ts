import type { Context } from "hono";
import type { AppEnv, AppRouteHandler } from "../../http/router.ts";
import { fromSnapshotOnly } from "../../metrics/capture_metrics.ts";
import { compareCapturesFor } from "../../operations/compare.ts";
import { loadDeps } from "../aws_deps.ts";
import { refusalProblem } from "../refusal.ts";
import { problem } from "../../http/problem.ts";
import {
  logCloudWatchMessages,
  metricsDeps,
  type ParsedMetricsQuery,
  readMetrics,
} from "./_metrics_request.ts";
import { cacheControl, wantsCsv } from "./_representation.ts";
import type * as routes from "./compare_routes.ts";

// The chart and CSV writers (d3, csv-stringify: ~14 ms of imports) load with the first request
// that asks for a chart or CSV, not at every process start (README "Round 6: what a start loads").
const chartSvg = () => import("../../metrics/chart_svg.ts");
const loadSvg = () => import("../../metrics/load_svg.ts");
const csv = () => import("../../metrics/csv.ts");

/** The comparison the compare operations answer with, or its refusal; remarks logged. */
async function readComparison(
  c: Context<AppEnv>,
  id: number,
  { with: baselineId, type: types, stat, period }: ParsedMetricsQuery & { with: number },
  withLoad: boolean,
) {
  const deps = c.get("deps");
  const outcome = await compareCapturesFor(
    metricsDeps(deps),
    id,
    baselineId,
    c.get("userId"),
    { types, stat, period },
    deps.clock(),
    loadDeps(deps),
    withLoad,
  );
  if (outcome.ok) {
    for (const side of outcome.messages) logCloudWatchMessages(c, side.captureId, side.messages);
  }
  return outcome;
}

export const compare: AppRouteHandler<typeof routes.compare> = async (c) => {
  const query = c.req.valid("query");
  const read = await readComparison(c, c.req.valid("param").id, query, query.include === "load");
  if (!read.ok) return refusalProblem(c, read, read.about);
  const headers = { "Cache-Control": cacheControl(read.fromSnapshots), Vary: "Accept" };
  if (wantsCsv(c)) {
    const { comparisonCsv, CSV_MEDIA_TYPE } = await csv();
    return c.body(comparisonCsv(read.comparison), 200, {
      ...headers,
      "Content-Type": CSV_MEDIA_TYPE,
    });
  }
  return c.json(read.comparison, 200, headers);
};

export const compareSvg: AppRouteHandler<typeof routes.compareSvg> = async (c) => {
  const query = c.req.valid("query");
  const read = await readComparison(c, c.req.valid("param").id, query, query.view === "load");
  if (!read.ok) return refusalProblem(c, read, read.about);
  const { renderComparisonSvg, SVG_MEDIA_TYPE } = await chartSvg();
  if (query.view === "load") {
    const { load } = read.comparison;
    const refusal = read.loadRefusal;
    // Performance Insights' faults answer as on /load (503 + Retry-After, 502, 504), not 409.
    if (refusal?.kind === "upstream") return refusalProblem(c, refusal, refusal.about);
    if (!load?.available) {
      return problem(
        c,
        409,
        `No database load to chart: ${
          load ? load.reason : "this server does not call Performance Insights"
        }`,
        { type: "invalid-state" },
      );
    }
    const { renderLoadComparisonSvg } = await loadSvg();
    return c.body(renderLoadComparisonSvg({ ...read.comparison, load }), 200, {
      "Content-Type": SVG_MEDIA_TYPE,
      "Cache-Control": cacheControl(read.fromSnapshots),
    });
  }
  return c.body(renderComparisonSvg(read.comparison), 200, {
    "Content-Type": SVG_MEDIA_TYPE,
    "Cache-Control": cacheControl(read.fromSnapshots),
  });
};

export const metricsSvg: AppRouteHandler<typeof routes.metricsSvg> = async (c) => {
  const outcome = await readMetrics(c, c.req.valid("param").id, c.req.valid("query"));
  if (!outcome.ok) return refusalProblem(c, outcome);
  const { name, metrics } = outcome;
  const { renderMetricsSvg, SVG_MEDIA_TYPE } = await chartSvg();
  return c.body(renderMetricsSvg(name, metrics), 200, {
    "Content-Type": SVG_MEDIA_TYPE,
    "Cache-Control": cacheControl(fromSnapshotOnly(metrics) && metrics.complete),
  });
};
