import { z } from "@hono/zod-openapi";
import { METRIC_TYPES } from "../../metrics/catalogue.ts";
import { queryInteger, queryList, queryText, Timestamp } from "./common.ts";

export const MetricsQuery = z.object({
  type: queryList(
    z.array(z.string().min(1).max(64)).max(METRIC_TYPES.length).optional(),
  ).openapi({
    param: { name: "type", in: "query", style: "form", explode: true },
    type: "array",
    items: { type: "string", example: "CPUUtilization" },
    description: `Repeatable; default the whole catalogue: ${
      METRIC_TYPES.join(", ")
    }. The old names ("CPU UTILIZATION", …) are accepted too.`,
  }),
  stat: queryText(z.string().min(1).max(16).default("Average")).openapi({
    param: { name: "stat", in: "query" },
    description: "Average, Minimum, Maximum, Sum, SampleCount, or a percentile such as p99",
    example: "Average",
  }),
  period: queryInteger(z.number().int().positive().optional()).openapi({
    param: { name: "period", in: "query" },
    description:
      "Seconds, a multiple of 60. Default: the smallest that keeps each series within 1,440 points and within CloudWatch's retention (60 s for 15 days, 300 s for 63 days, 3,600 s for 455 days)",
    example: 60,
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
}).openapi("MetricSeries");

export const CaptureMetrics = z.object({
  captureId: z.number().int().openapi({ example: 42 }),
  start: Timestamp,
  end: Timestamp.openapi({ description: "The capture's end, or now while it runs" }),
  period: z.number().int().openapi({ example: 60 }),
  stat: z.string().openapi({ example: "Average" }),
  source: z.enum(["cloudwatch", "snapshot"]).openapi({
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
