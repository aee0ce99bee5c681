import { z } from "@hono/zod-openapi";
import { METRIC_TYPES } from "../../metrics/catalogue.ts";
import { METRICS_SOURCES } from "../../vocabulary.ts";
import { queryInteger, queryText, Timestamp } from "./common.ts";
import { MetricsQuery } from "./metrics.ts";

/** The query of the compare operations: the metrics query and the baseline's id. */
export const CompareQuery = MetricsQuery.extend({
  with: queryInteger(
    z.number({
      error: (issue) =>
        issue.input === undefined ? "is required: the baseline capture's id" : undefined,
    }).int().positive(),
  ).openapi({
    param: { name: "with", in: "query", required: true },
    description:
      "The baseline capture's id; the path's capture is the candidate. It may be in another environment you are a member of",
  }),
});

/** The query of the JSON/CSV compare: the compare query and whether to add database load. */
export const CompareJsonQuery = CompareQuery.extend({
  include: queryText(z.enum(["load"]).optional()).openapi({
    param: { name: "include", in: "query" },
    description:
      "load: add `load`, the captures' database load by SQL digest and wait (from their stored load, else Performance Insights, read in parallel with the metrics). Without it the comparison makes no Performance Insights call",
  }),
});

/** The query of compare.svg: the compare query and which chart. */
export const CompareChartQuery = CompareQuery.extend({
  // The default is applied here, not declared, so Swagger UI leaves the field empty.
  view: queryText(z.enum(["metrics", "load"]).optional().transform((v) => v ?? "metrics")).openapi({
    param: { name: "view", in: "query" },
    description:
      "metrics: one panel per series (default); load: each capture's average active sessions stacked by its top waits (Performance Insights)",
  }),
});

const Nullable = z.number().nullable();

const Summary = z.object({
  count: z.number().int().openapi({ example: 60 }),
  mean: Nullable,
  min: Nullable,
  max: Nullable,
  p50: Nullable.openapi({ description: "Median, interpolated between closest ranks" }),
  p95: Nullable.openapi({ description: "95th percentile, interpolated between closest ranks" }),
}).openapi("Summary", { description: "Over the compared window; values null without points" });

const OffsetPoint = z.object({
  offset: z.number().int().openapi({ description: "Seconds from the capture's first period" }),
  value: z.number(),
}).openapi("OffsetPoint");

const Side = z.object({
  complete: z.boolean(),
  summary: Summary,
  datapoints: z.array(OffsetPoint).openapi({ description: "Ascending by offset" }),
}).openapi("ComparedSide");

const Difference = z.object({
  absolute: Nullable.openapi({ description: "candidate − baseline" }),
  relative: Nullable.openapi({
    description: "(candidate − baseline) / |baseline|: 0.25 is 25 % more; null when baseline is 0",
  }),
}).openapi("Difference");

const ComparedCapture = z.object({
  captureId: z.number().int().openapi({ example: 41 }),
  name: z.string().openapi({ example: "before-index" }),
  start: Timestamp,
  end: Timestamp,
  duration: z.number().openapi({ description: "The capture's own length, seconds" }),
  source: z.enum(METRICS_SOURCES),
}).openapi("ComparedCapture");

const Presence = z.enum(["both", "new", "gone"]).openapi({
  description:
    "In both captures' top groups, only the candidate's (new) or only the baseline's (gone)",
});

const LoadComparison = z.union([
  z.object({
    available: z.literal(true),
    total: z.object({ baseline: z.number(), candidate: z.number(), change: Difference })
      .openapi({ description: "Average active sessions of the whole instance" }),
    sql: z.array(
      z.object({
        key: z.string().openapi({ description: "db.sql_tokenized.id" }),
        label: z.string(),
        status: Presence,
        baseline: z.object({ load: z.number(), latencyMsPerCall: Nullable }).nullable(),
        candidate: z.object({ load: z.number(), latencyMsPerCall: Nullable }).nullable(),
        change: z.object({ load: Difference, latencyMsPerCall: Difference }),
      }).openapi("ComparedDigest"),
    ),
    waits: z.array(
      z.object({
        key: z.string().openapi({ description: "db.wait_event.name" }),
        label: z.string(),
        status: Presence,
        baseline: z.object({ load: z.number(), share: z.number() }).nullable(),
        candidate: z.object({ load: z.number(), share: z.number() }).nullable(),
        change: z.object({ load: Difference }),
      }).openapi("ComparedWait"),
    ),
  }),
  z.object({
    available: z.literal(false),
    reason: z.string().openapi({
      example: "Capture 41: Performance Insights is off for prod-mysql-1; turn it on …",
    }),
    retryable: z.boolean().openapi({
      description:
        "True when Performance Insights was throttling or timed out (ask again after `retryAfter`); false when asking again will not help (PI off, past its retention, instance unknown, access denied)",
    }),
    retryAfter: z.number().int().optional().openapi({
      description: "Seconds to wait before asking again; only when `retryable`",
      example: 5,
    }),
  }),
]).openapi("LoadComparison", {
  description:
    "Database load from Performance Insights (or the captures' stored load): SQL digests in either capture's top 25 with load and per-call latency on both sides, and waits. Present only with `include=load`, and absent when the server does not call Performance Insights; `available: false` says why one side has none.",
});

export const Comparison = z.object({
  baseline: ComparedCapture,
  candidate: ComparedCapture,
  period: z.number().int().openapi({ example: 60 }),
  stat: z.string().openapi({ example: "Average" }),
  commonDuration: z.number().openapi({
    description:
      "Seconds compared from each capture's start: the shorter one's length (at least one period)",
  }),
  complete: z.boolean(),
  series: z.array(
    z.object({
      type: z.enum(METRIC_TYPES).openapi({ example: "DBLoad" }),
      label: z.string().openapi({ example: "DB load" }),
      unit: z.string().openapi({ example: "None" }),
      baseline: Side,
      candidate: Side,
      change: z.object({ mean: Difference, p95: Difference, max: Difference }),
    }).openapi("ComparedSeries"),
  ),
  load: LoadComparison.optional(),
}).openapi("Comparison", {
  example: {
    baseline: {
      captureId: 41,
      name: "before-index",
      start: "2026-01-15T10:00:00.000Z",
      end: "2026-01-15T10:02:00.000Z",
      duration: 120,
      source: "snapshot",
    },
    candidate: {
      captureId: 42,
      name: "after-index",
      start: "2026-01-16T10:00:00.000Z",
      end: "2026-01-16T10:02:00.000Z",
      duration: 120,
      source: "snapshot",
    },
    period: 60,
    stat: "Average",
    commonDuration: 120,
    complete: true,
    series: [{
      type: "DBLoad",
      label: "DB load",
      unit: "None",
      baseline: {
        complete: true,
        summary: { count: 2, mean: 2, min: 1, max: 3, p50: 2, p95: 2.9 },
        datapoints: [{ offset: 0, value: 1 }, { offset: 60, value: 3 }],
      },
      candidate: {
        complete: true,
        summary: { count: 2, mean: 1.5, min: 1, max: 2, p50: 1.5, p95: 1.95 },
        datapoints: [{ offset: 0, value: 1 }, { offset: 60, value: 2 }],
      },
      change: {
        mean: { absolute: -0.5, relative: -0.25 },
        p95: { absolute: -0.95, relative: -0.327586 },
        max: { absolute: -1, relative: -0.333333 },
      },
    }],
  },
});
