import type { RouteHandler } from "@hono/zod-openapi";
import type { Context } from "hono";
import { renderComparisonSvg, renderMetricsSvg, SVG_MEDIA_TYPE } from "../../metrics/chart_svg.ts";
import { type MetricsOutcome, readCaptureMetrics } from "../../metrics/capture_metrics.ts";
import { compareMetrics, type Comparison } from "../../metrics/compare.ts";
import { comparisonCsv, CSV_MEDIA_TYPE } from "../../metrics/csv.ts";
import type { AppEnv } from "../router.ts";
import {
  findVisibleCapture,
  logCloudWatchMessages,
  metricsFailure,
  notVisible,
  parseMetricsQuery,
  queryProblem,
} from "./_metrics_request.ts";
import { cacheControl, wantsCsv } from "./_representation.ts";
import type * as routes from "./compare_routes.ts";

type Query = { type?: string[]; stat: string; period?: number };

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

/**
 * Reads one capture's metrics as the metrics operation does: from its snapshot when that can
 * answer, else one GetMetricData call.
 */
function reader(c: Context<AppEnv>, types: Parameters<typeof readCaptureMetrics>[3]["types"]) {
  const deps = c.var.deps;
  const now = deps.clock();
  return (
    found: NonNullable<Awaited<ReturnType<typeof findVisibleCapture>>>,
    stat: string,
    period: number | undefined,
  ) =>
    readCaptureMetrics(
      {
        db: deps.db,
        cloudwatch: deps.cloudwatch,
        serverCredentials: deps.config.awsCredentials,
        cipher: deps.credentialsCipher,
      },
      found.capture,
      found.env,
      { types, stat, period },
      now,
    );
}

/**
 * Both captures' metrics at one period, compared; or the problem to answer. Without `period` each
 * gets its own default; when those differ, the capture(s) not at their least common multiple are
 * read again at it (only then is a capture read twice).
 */
async function readComparison(
  c: Context<AppEnv>,
  id: number,
  query: Query & { with: number },
) {
  const parsed = parseMetricsQuery(query);
  if (!parsed.ok) return { ok: false as const, response: queryProblem(c, parsed.errors) };
  const candidate = await findVisibleCapture(c, id);
  if (!candidate) return { ok: false as const, response: notVisible(c, id) };
  const baseline = await findVisibleCapture(c, query.with);
  if (!baseline) return { ok: false as const, response: notVisible(c, query.with) };

  const read = reader(c, parsed.types);
  const outcomes: [MetricsOutcome, MetricsOutcome] = await Promise.all([
    read(baseline, parsed.stat, query.period),
    read(candidate, parsed.stat, query.period),
  ]);
  const failed = () => {
    for (const [i, outcome] of outcomes.entries()) {
      if (!outcome.ok) {
        const about = i === 0 ? `Baseline capture ${query.with}: ` : `Candidate capture ${id}: `;
        return { ok: false as const, response: metricsFailure(c, outcome, about) };
      }
    }
  };
  const first = failed();
  if (first) return first;
  const periods = outcomes.map((o) => (o as Extract<MetricsOutcome, { ok: true }>).metrics.period);
  if (periods[0] !== periods[1]) {
    const common = periods[0] / gcd(periods[0], periods[1]) * periods[1];
    for (const [i, found] of [baseline, candidate].entries()) {
      if (periods[i] !== common) outcomes[i] = await read(found, parsed.stat, common);
    }
    const again = failed();
    if (again) return again;
  }
  const [b, cd] = outcomes as Array<Extract<MetricsOutcome, { ok: true }>>;
  logCloudWatchMessages(c, query.with, b.messages);
  logCloudWatchMessages(c, id, cd.messages);
  const comparison: Comparison = compareMetrics(
    { name: baseline.capture.name, metrics: b.metrics },
    { name: candidate.capture.name, metrics: cd.metrics },
  );
  const fromSnapshots = b.metrics.source === "snapshot" && cd.metrics.source === "snapshot" &&
    comparison.complete;
  return { ok: true as const, comparison, cache: cacheControl(fromSnapshots) };
}

export const compare: RouteHandler<typeof routes.compare, AppEnv> = async (c) => {
  const read = await readComparison(c, c.req.valid("param").id, c.req.valid("query"));
  if (!read.ok) return read.response;
  const headers = { "Cache-Control": read.cache, Vary: "Accept" };
  if (wantsCsv(c)) {
    return c.body(comparisonCsv(read.comparison), 200, {
      ...headers,
      "Content-Type": CSV_MEDIA_TYPE,
    });
  }
  return c.json(read.comparison, 200, headers);
};

export const compareSvg: RouteHandler<typeof routes.compareSvg, AppEnv> = async (c) => {
  const read = await readComparison(c, c.req.valid("param").id, c.req.valid("query"));
  if (!read.ok) return read.response;
  return c.body(renderComparisonSvg(read.comparison), 200, {
    "Content-Type": SVG_MEDIA_TYPE,
    "Cache-Control": read.cache,
  });
};

export const metricsSvg: RouteHandler<typeof routes.metricsSvg, AppEnv> = async (c) => {
  const { id } = c.req.valid("param");
  const query = c.req.valid("query");
  const parsed = parseMetricsQuery(query);
  if (!parsed.ok) return queryProblem(c, parsed.errors);
  const found = await findVisibleCapture(c, id);
  if (!found) return notVisible(c, id);
  const outcome = await reader(c, parsed.types)(found, parsed.stat, query.period);
  if (!outcome.ok) return metricsFailure(c, outcome);
  logCloudWatchMessages(c, id, outcome.messages);
  const { metrics } = outcome;
  return c.body(renderMetricsSvg(found.capture.name, metrics), 200, {
    "Content-Type": SVG_MEDIA_TYPE,
    "Cache-Control": cacheControl(metrics.source === "snapshot" && metrics.complete),
  });
};
