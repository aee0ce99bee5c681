import { z } from "@hono/zod-openapi";
import { METRIC_TYPES, type MetricType, resolveMetricType } from "../../metrics/catalogue.ts";
import { isValidStat, normaliseStat, STAT_RULE } from "../../metrics/period.ts";
import { METRICS_SOURCES } from "../../vocabulary.ts";
import { queryInteger, queryList, queryText, Timestamp } from "./common.ts";

/** The names given in `type` as catalogue metrics, deduplicated; each unknown one is an issue. */
function resolveTypes(names: string[] | undefined, ctx: z.core.$RefinementCtx): MetricType[] {
  if (names === undefined) return [...METRIC_TYPES];
  const types: MetricType[] = [];
  for (const [index, name] of names.entries()) {
    const type = resolveMetricType(name);
    if (type === undefined) {
      ctx.addIssue({
        code: "custom",
        path: [index],
        input: name,
        message: `"${name}" is not a known metric; use one of ${METRIC_TYPES.join(", ")}`,
      });
    } else if (!types.includes(type)) types.push(type);
  }
  return types;
}

/** The query of GET /api/captures/{id}/metrics; it parses to resolved types and a valid stat. */
export const MetricsQuery = z.object({
  type: queryList(
    z.array(z.string().min(1).max(64)).max(METRIC_TYPES.length).optional()
      .transform(resolveTypes),
  ).openapi({
    param: { name: "type", in: "query", style: "form", explode: true },
    type: "array",
    items: { type: "string" },
    description: `Repeatable; default the whole catalogue: ${
      METRIC_TYPES.join(", ")
    }. The old names ("CPU UTILIZATION", …) are accepted too.`,
  }),
  stat: queryText(
    // The default is applied here, not declared, so Swagger UI leaves the field empty.
    z.string().min(1).max(16).optional().transform((stat) => normaliseStat(stat ?? "Average"))
      .refine(isValidStat, `must be ${STAT_RULE.replace(", or", " or")}`),
  ).openapi({
    param: { name: "stat", in: "query" },
    description: `${STAT_RULE}; named stats in any case. Default: Average`,
  }),
  period: queryInteger(
    z.number().int().positive().multipleOf(60, {
      error: (issue) => `period must be a positive multiple of 60 seconds (got ${issue.input})`,
    }).optional(),
  ).openapi({
    param: { name: "period", in: "query" },
    // zod's multipleOf above is the check; the generator does not carry it into the document.
    multipleOf: 60,
    description:
      "Seconds, a multiple of 60. Default: the smallest that keeps each series within 1,440 points and within CloudWatch's retention (60 s for 15 days, 300 s for 63 days, 3,600 s for 455 days)",
  }),
});

const Datapoint = z.object({
  timestamp: Timestamp,
  value: z.number().openapi({ example: 12.5 }),
}).openapi("Datapoint");

const MetricSeries = z.object({
  type: z.enum(METRIC_TYPES).openapi({ example: "CPUUtilization" }),
  label: z.string().openapi({ example: "CPU utilization" }),
  unit: z.string().openapi({ example: "Percent" }),
  complete: z.boolean().openapi({
    description: "False while running or when CloudWatch said PartialData",
  }),
  datapoints: z.array(Datapoint).openapi({ description: "Ascending by timestamp" }),
  source: z.literal("cloudwatch").optional().openapi({
    description:
      "Only in a snapshot answer, on a series the snapshot lacks (it predates the metric) that CloudWatch answered",
  }),
  period: z.number().int().optional().openapi({
    description:
      "Only on such a series when CloudWatch no longer keeps the answer's period: the coarser period it was read at",
  }),
}).openapi("MetricSeries");

export const CaptureMetrics = z.object({
  captureId: z.number().int().openapi({ example: 42 }),
  start: Timestamp,
  end: Timestamp.openapi({ description: "The capture's end, or now while it runs" }),
  period: z.number().int().openapi({ example: 60 }),
  stat: z.string().openapi({ example: "Average" }),
  source: z.enum(METRICS_SOURCES).openapi({
    description: "snapshot: served from the copy stored after the capture ended, without AWS",
  }),
  complete: z.boolean(),
  series: z.array(MetricSeries),
}).openapi("CaptureMetrics", {
  example: {
    captureId: 42,
    start: "2026-01-15T10:00:00.000Z",
    end: "2026-01-15T10:02:00.000Z",
    period: 60,
    stat: "Average",
    source: "cloudwatch",
    complete: true,
    series: [{
      type: "CPUUtilization",
      label: "CPU utilization",
      unit: "Percent",
      complete: true,
      datapoints: [
        { timestamp: "2026-01-15T10:00:00.000Z", value: 12.5 },
        { timestamp: "2026-01-15T10:01:00.000Z", value: 14.25 },
      ],
    }],
  },
});
