import { metricsRateLimit } from "../rate_limit.ts";
import { createRoute } from "@hono/zod-openapi";
import { etag } from "hono/etag";
import { requireUser } from "../../http/require_user.ts";
import { jsonOrCsv, problems, RATE_LIMIT_HEADERS } from "../../openapi/helpers.ts";
import { CaptureIdParams } from "../../openapi/schemas/capture.ts";
import { CompareChartQuery, CompareJsonQuery, Comparison } from "../../openapi/schemas/compare.ts";
import { SvgImage } from "../../openapi/schemas/media.ts";
import { MetricsQuery } from "../../openapi/schemas/metrics.ts";

const tags = ["Captures"];
const security = [{ bearerAuth: [] }];

// Each also counts against QUOTA_METRICS_REQUESTS_PER_MINUTE (metricsRateLimit).
const cached = {
  ...RATE_LIMIT_HEADERS,
  ETag: {
    description: "Digest of the body; send it as If-None-Match to get 304 when unchanged",
    schema: { type: "string" as const, example: '"3f2c…"' },
  },
  "Cache-Control": {
    description:
      "`private, max-age=86400` once the data comes wholly from complete snapshots, else `private, no-cache`",
    schema: { type: "string" as const, example: "private, max-age=86400" },
  },
};

const svg = (description: string) => ({
  content: { "image/svg+xml": { schema: SvgImage } },
  description,
  headers: cached,
});

/**
 * What the three operations share: a GET for a member. Each lists Hono's etag in its own middleware
 * (an ETag from the body's digest, 304 for a matching If-None-Match): put here, the handlers'
 * c.req.valid types collapse to never.
 */
const cachedGet = { method: "get" as const, tags, security };

/** Their answers besides 200. */
const otherAnswers = {
  304: { description: "Not modified (If-None-Match matched the ETag)" },
  ...problems(400, 401, 404, 409, 429, 502, 503, 504),
};

const upstream =
  "Upstream trouble: 502 (bad answer), 503 with Retry-After (throttled), 504 (timed out). Counts against QUOTA_METRICS_REQUESTS_PER_MINUTE like the metrics (RateLimit headers; 429 with Retry-After past it).";

export const compare = createRoute({
  ...cachedGet,
  middleware: [requireUser, metricsRateLimit, etag()] as const,
  path: "/api/captures/{id}/compare",
  operationId: "compareCaptures",
  summary: "Compare a capture with a baseline",
  description:
    "The path's capture (candidate) against `with` (baseline), both on one relative axis (seconds from each capture's first period) at one period, over their common length. Per series: a summary (count, mean, min, max, p50, p95) of each side and the change of mean, p95 and max. You must be a member of both captures' environments; a capture you cannot see is 404 in either position. Served from snapshots without AWS when both have one; otherwise one GetMetricData call per capture. `include=load` adds the database load by SQL digest and wait (stored with the captures, else Performance Insights); without it no Performance Insights call is made. " +
    upstream,
  request: { params: CaptureIdParams, query: CompareJsonQuery },
  responses: {
    200: {
      ...jsonOrCsv(
        Comparison,
        "The comparison; `Accept: text/csv` gives one row per offset and two columns (baseline, candidate) per series",
        "offset_seconds,DBLoad baseline (sessions),DBLoad candidate (sessions)\r\n0,1.25,1.5\r\n",
      ),
      headers: cached,
    },
    ...otherAnswers,
  },
});

export const compareSvg = createRoute({
  ...cachedGet,
  middleware: [requireUser, metricsRateLimit, etag()] as const,
  path: "/api/captures/{id}/compare.svg",
  operationId: "getComparisonChart",
  summary: "Chart of a capture compared with a baseline",
  description:
    "The comparison of `GET /api/captures/{id}/compare` as an SVG image: one panel per series, baseline (solid) and candidate (dashed) overlaid on the time since each capture's start; `view=load` instead stacks each capture's average active sessions by its top waits (409 when either capture has no load, e.g. Performance Insights off; Performance Insights' faults answer 503 + Retry-After, 502 or 504); only `view=load` calls Performance Insights. " +
    upstream,
  request: { params: CaptureIdParams, query: CompareChartQuery },
  responses: {
    200: svg("The comparison chart"),
    ...otherAnswers,
  },
});

export const metricsSvg = createRoute({
  ...cachedGet,
  middleware: [requireUser, metricsRateLimit, etag()] as const,
  path: "/api/captures/{id}/metrics.svg",
  operationId: "getCaptureMetricsChart",
  summary: "Chart of a capture's metrics",
  description:
    "The series of `GET /api/captures/{id}/metrics` as an SVG image: one panel per series (small multiples) over the capture's window, times in UTC, each with its unit. " +
    upstream,
  request: { params: CaptureIdParams, query: MetricsQuery },
  responses: {
    200: svg("The metrics chart"),
    ...otherAnswers,
  },
});
