/**
 * Performance Insights over AWS JSON 1.1 (service `pi`, target prefix
 * `PerformanceInsightsv20180227`, timestamps in epoch seconds), shapes from botocore
 * data/pi/2018-02-27/service-2.json: GetResourceMetrics (MetricQueries 1–15, GroupBy
 * { Group, Dimensions, Limit ≤ 25 }, PeriodInSeconds 1|60|300|3600|86400, PeriodAlignment,
 * NextToken), DescribeDimensionKeys (top keys, AdditionalMetrics ≤ 30, `.avg` only, MaxResults
 * ≤ 25) and GetDimensionKeyDetails (Group `db.sql`, GroupIdentifier a `db.sql.id`, the full
 * `db.sql.statement`; the other two truncate every dimension to 500 bytes).
 */
import type { AwsCredentials } from "../config.ts";
import { parseObject } from "./_cloudwatch_error.ts";
import {
  awsCall,
  type AwsCallOptions,
  type AwsCallSettings,
  callSettings,
  type ServiceProtocol,
} from "./aws_call.ts";

/** The public Performance Insights endpoint; `{region}` and `{dnsSuffix}` are filled per call. */
export const DEFAULT_PI_ENDPOINT = "https://pi.{region}.{dnsSuffix}/";

/** The periods (s) Performance Insights accepts. */
export const PI_PERIODS = [1, 60, 300, 3600, 86400] as const;

const TARGET_PREFIX = "PerformanceInsightsv20180227.";
const MAX_PAGES = 20;

/** Which instance, where, with what credentials. */
export interface PiTarget {
  region: string;
  credentials: AwsCredentials;
  /** The instance's DbiResourceId (`db-…`). */
  identifier: string;
}

/** One point: epoch milliseconds (UTC) of the period's start, and the value. */
export interface PiPoint {
  at: number;
  value: number;
}

/** One series of GetResourceMetrics: its metric, its dimensions (none for the total), points. */
export interface PiSeries {
  metric: string;
  dimensions: Record<string, string>;
  points: PiPoint[];
}

/** One key of DescribeDimensionKeys. */
export interface PiKey {
  dimensions: Record<string, string>;
  total: number | null;
  additionalMetrics: Record<string, number>;
}

/** A detail of GetDimensionKeyDetails. */
export interface PiDetail {
  dimension: string;
  value: string;
  status: string;
}

/** A metric query of GetResourceMetrics. */
export interface PiMetricQuery {
  metric: string;
  groupBy?: { group: string; dimensions?: string[]; limit?: number };
  filter?: Record<string, string>;
}

/** The window and resolution of a query: epoch seconds, `[startTime, endTime)`. */
export interface PiWindow {
  startTime: number;
  endTime: number;
  period: number;
}

/** The three Performance Insights operations capwatch uses; failures throw AwsError. */
export interface PiClient {
  getResourceMetrics(
    target: PiTarget,
    window: PiWindow,
    queries: PiMetricQuery[],
  ): Promise<{ series: PiSeries[]; complete: boolean }>;
  describeDimensionKeys(
    target: PiTarget,
    window: PiWindow,
    query: {
      group: string;
      dimensions?: string[];
      limit: number;
      additionalMetrics?: string[];
      filter?: Record<string, string>;
    },
  ): Promise<PiKey[]>;
  getDimensionKeyDetails(
    target: PiTarget,
    query: { group: string; groupIdentifier: string; requestedDimensions?: string[] },
  ): Promise<PiDetail[]>;
}

const protocol = (operation: string): ServiceProtocol<Record<string, unknown>> => ({
  label: "Performance Insights",
  signingName: "pi",
  contentType: "application/x-amz-json-1.1",
  headers: { "X-Amz-Target": `${TARGET_PREFIX}${operation}` },
  parse: parseObject,
});

/** A Performance Insights client with the CloudWatch client's retry policy (aws_call.ts). */
export function createPiClient(options: AwsCallOptions = {}): PiClient {
  const settings: AwsCallSettings = callSettings(options, DEFAULT_PI_ENDPOINT);
  const send = (target: PiTarget, operation: string, body: Record<string, unknown>) =>
    awsCall(settings, protocol(operation), { ...target, operation }, JSON.stringify(body));
  const base = (target: PiTarget) => ({ ServiceType: "RDS", Identifier: target.identifier });

  return {
    async getResourceMetrics(target, window, queries) {
      const merged = new Map<string, PiSeries>();
      let token: string | undefined;
      let pages = 0;
      do {
        const page = await send(target, "GetResourceMetrics", {
          ...base(target),
          MetricQueries: queries.map((q) => ({
            Metric: q.metric,
            ...(q.groupBy
              ? {
                GroupBy: {
                  Group: q.groupBy.group,
                  ...(q.groupBy.dimensions ? { Dimensions: q.groupBy.dimensions } : {}),
                  ...(q.groupBy.limit ? { Limit: q.groupBy.limit } : {}),
                },
              }
              : {}),
            ...(q.filter ? { Filter: q.filter } : {}),
          })),
          StartTime: window.startTime,
          EndTime: window.endTime,
          PeriodInSeconds: window.period,
          // Points stamped at their period's start, as CloudWatch's are; PI's default is the end.
          PeriodAlignment: "START_TIME",
          ...(token ? { NextToken: token } : {}),
        });
        pages++;
        for (const entry of arrayOf(page.MetricList)) {
          const key = objectOf(entry.Key);
          const metric = typeof key.Metric === "string" ? key.Metric : "";
          const dimensions = stringMap(key.Dimensions);
          const id = JSON.stringify([metric, Object.entries(dimensions).sort()]);
          const series = merged.get(id) ?? { metric, dimensions, points: [] };
          merged.set(id, series);
          for (const point of arrayOf(entry.DataPoints)) {
            const at = epochMs(point.Timestamp);
            const value = typeof point.Value === "number" ? point.Value : NaN;
            // PI leaves Value out of a period it has no sample for; that period is skipped.
            if (at !== undefined && Number.isFinite(value)) series.points.push({ at, value });
          }
        }
        token = typeof page.NextToken === "string" && page.NextToken ? page.NextToken : undefined;
      } while (token && pages < MAX_PAGES);
      for (const s of merged.values()) s.points.sort((a, b) => a.at - b.at);
      return { series: [...merged.values()], complete: token === undefined };
    },

    async describeDimensionKeys(target, window, query) {
      const keys: PiKey[] = [];
      let token: string | undefined;
      let pages = 0;
      do {
        const page = await send(target, "DescribeDimensionKeys", {
          ...base(target),
          StartTime: window.startTime,
          EndTime: window.endTime,
          PeriodInSeconds: window.period,
          Metric: "db.load.avg",
          GroupBy: {
            Group: query.group,
            ...(query.dimensions ? { Dimensions: query.dimensions } : {}),
            Limit: Math.min(25, query.limit),
          },
          ...(query.additionalMetrics?.length
            ? { AdditionalMetrics: query.additionalMetrics }
            : {}),
          ...(query.filter ? { Filter: query.filter } : {}),
          MaxResults: Math.min(25, query.limit),
          ...(token ? { NextToken: token } : {}),
        });
        pages++;
        for (const key of arrayOf(page.Keys)) {
          const additional: Record<string, number> = {};
          for (const [name, value] of Object.entries(objectOf(key.AdditionalMetrics))) {
            if (typeof value === "number" && Number.isFinite(value)) additional[name] = value;
          }
          keys.push({
            dimensions: stringMap(key.Dimensions),
            total: typeof key.Total === "number" && Number.isFinite(key.Total) ? key.Total : null,
            additionalMetrics: additional,
          });
        }
        token = typeof page.NextToken === "string" && page.NextToken ? page.NextToken : undefined;
      } while (token && keys.length < query.limit && pages < MAX_PAGES);
      return keys.slice(0, query.limit);
    },

    async getDimensionKeyDetails(target, query) {
      const page = await send(target, "GetDimensionKeyDetails", {
        ...base(target),
        Group: query.group,
        GroupIdentifier: query.groupIdentifier,
        ...(query.requestedDimensions ? { RequestedDimensions: query.requestedDimensions } : {}),
      });
      return arrayOf(page.Dimensions).flatMap((d) =>
        typeof d.Dimension === "string" && typeof d.Value === "string"
          ? [{
            dimension: d.Dimension,
            value: d.Value,
            status: typeof d.Status === "string" ? d.Status : "AVAILABLE",
          }]
          : []
      );
    },
  };
}

function arrayOf(value: unknown): Record<string, unknown>[] {
  return Array.isArray(value)
    ? value.filter((v): v is Record<string, unknown> => v !== null && typeof v === "object")
    : [];
}

function objectOf(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value)
    ? value as Record<string, unknown>
    : {};
}

function stringMap(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(objectOf(value))) if (typeof v === "string") out[k] = v;
  return out;
}

/** AWS JSON timestamps are epoch seconds (a number); an ISO string is read too. */
function epochMs(value: unknown): number | undefined {
  if (typeof value === "number" && Number.isFinite(value)) return Math.round(value * 1000);
  if (typeof value === "string") {
    const ms = Date.parse(value);
    return Number.isNaN(ms) ? undefined : ms;
  }
  return undefined;
}
