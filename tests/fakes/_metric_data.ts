/** GetMetricData as the fake answers it: validation, datapoints, pagination. */
import type { MetricType } from "../../metrics/catalogue.ts";

/** An AWS-style client error raised while reading the request. */
export class FakeAwsError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** A series registered by a test: exact `[epochSeconds, value]` points. */
export type FixedPoints = Array<[number, number]>;

/** The data the fake holds besides its generated values. */
export interface FakeStore {
  fixed: Map<string, FixedPoints>;
  dropped: boolean;
  /** The data's "now": how old StartTime is decides how CloudWatch rounds it; unset, all is recent. */
  dataNow?: () => Date;
}

/** One result as it goes on the wire, before any fault rewrites it. */
export interface WireResult {
  Id: string;
  Label: string;
  Timestamps: number[];
  Values: number[];
  StatusCode: string;
  Messages: Array<{ Code: string; Value: string }>;
}

/** The key of a fixed series. */
export function seriesKey(metric: string, dbId: string): string {
  return `${metric}\u0000${dbId}`;
}

// Stored units and plausible ranges of the RDS metrics; a query with another Unit gets no data.
// Keyed by MetricType, so a catalogue metric missing here fails `deno check`.
const RDS: Record<MetricType, { unit: string; low: number; high: number }> = {
  CPUUtilization: { unit: "Percent", low: 5, high: 85 },
  FreeableMemory: { unit: "Bytes", low: 1.5e9, high: 3.5e9 },
  ReadIOPS: { unit: "Count/Second", low: 10, high: 900 },
  WriteIOPS: { unit: "Count/Second", low: 20, high: 1200 },
  ReadThroughput: { unit: "Bytes/Second", low: 1e5, high: 4e7 },
  WriteThroughput: { unit: "Bytes/Second", low: 2e5, high: 6e7 },
  FreeStorageSpace: { unit: "Bytes", low: 5e10, high: 6e10 },
  DatabaseConnections: { unit: "Count", low: 2, high: 180 },
  ReadLatency: { unit: "Seconds", low: 0.0002, high: 0.008 },
  WriteLatency: { unit: "Seconds", low: 0.0005, high: 0.012 },
  DiskQueueDepth: { unit: "Count", low: 0, high: 12 },
  NetworkReceiveThroughput: { unit: "Bytes/Second", low: 5e4, high: 9e6 },
  NetworkTransmitThroughput: { unit: "Bytes/Second", low: 8e4, high: 1.2e7 },
  SwapUsage: { unit: "Bytes", low: 0, high: 2e8 },
  // Performance Insights' load (average active sessions) is stored without a unit.
  DBLoadCPU: { unit: "None", low: 0.2, high: 3 },
  DBLoadNonCPU: { unit: "None", low: 0.1, high: 2 },
  DBLoad: { unit: "None", low: 0, high: 0 },
  DBLoadRelativeToNumVCPUs: { unit: "None", low: 0, high: 0 },
};

/** The stored unit and range of `metric`, undefined for a name RDS does not publish. */
const rdsMetric = (metric: string) =>
  Object.hasOwn(RDS, metric) ? RDS[metric as MetricType] : undefined;

/** The vCPUs of every fake instance, which DBLoadRelativeToNumVCPUs divides by. */
export const FAKE_VCPUS = 2;

/** The generated value of a metric at a time: a pure function of its arguments. */
export function generatedValue(metric: string, dbId: string, epochSeconds: number): number {
  // As in RDS, the load is its CPU and non-CPU parts, and per vCPU that load over the vCPUs.
  if (metric === "DBLoad" || metric === "DBLoadRelativeToNumVCPUs") {
    const load = generatedValue("DBLoadCPU", dbId, epochSeconds) +
      generatedValue("DBLoadNonCPU", dbId, epochSeconds);
    const value = metric === "DBLoad" ? load : load / FAKE_VCPUS;
    return Math.round(value * 1e6) / 1e6;
  }
  const range = rdsMetric(metric) ?? { low: 0, high: 100 };
  const phase = (hash(`${metric}/${dbId}`) % 1000) / 1000 * 2 * Math.PI;
  const wave = 0.5 + 0.4 * Math.sin(2 * Math.PI * epochSeconds / 3600 + phase) +
    0.1 * Math.sin(2 * Math.PI * epochSeconds / 420 + 2 * phase);
  return Math.round((range.low + (range.high - range.low) * wave) * 1e6) / 1e6;
}

interface Query {
  id: string;
  label: string;
  metric?: string;
  dbId?: string;
  period: number;
  stat: string;
  unit?: string;
}

/** A validated request, with the fingerprint its NextToken must carry. */
export interface ParsedRequest {
  queries: Query[];
  start: number;
  end: number;
  ascending: boolean;
  maxDatapoints?: number;
  nextToken?: string;
  fingerprint: string;
}

/** Validates a GetMetricData body the way CloudWatch does, or throws FakeAwsError. */
export async function parseRequest(body: Record<string, unknown>): Promise<ParsedRequest> {
  const rawQueries = body.MetricDataQueries;
  if (!Array.isArray(rawQueries) || rawQueries.length === 0) {
    throw missing("MetricDataQueries");
  }
  if (rawQueries.length > 500) {
    throw invalid("The collection MetricDataQueries must not have a size greater than 500.");
  }
  const ids = new Set<string>();
  const queries = rawQueries.map((q, i): Query => {
    const path = `MetricDataQueries.member.${i + 1}`;
    if (!q || typeof q !== "object") throw missing(path);
    const { Id, Label, MetricStat } = q as Record<string, unknown>;
    if (typeof Id !== "string") throw missing(`${path}.Id`);
    if (!/^[a-z]\w*$/.test(Id) || Id.length > 255) {
      throw invalid(
        `The value ${Id} for parameter ${path}.Id is not matching the expected pattern ^[a-z][a-zA-Z0-9_]*$.`,
      );
    }
    if (ids.has(Id)) {
      throw invalid(`The values for parameter id in MetricDataQueries are not unique.`);
    }
    ids.add(Id);
    if (!MetricStat || typeof MetricStat !== "object") throw missing(`${path}.MetricStat`);
    const { Metric, Period, Stat, Unit } = MetricStat as Record<string, unknown>;
    if (typeof Period !== "number" || !Number.isInteger(Period) || Period <= 0 || Period % 60) {
      throw invalid(`The parameter ${path}.MetricStat.Period must be a multiple of 60.`);
    }
    if (
      typeof Stat !== "string" ||
      !/^(Average|Minimum|Maximum|Sum|SampleCount|p\d{1,2}(\.\d{1,2})?)$/.test(Stat)
    ) {
      throw invalid(`The parameter ${path}.MetricStat.Stat must be a valid statistic.`);
    }
    const metric = (Metric ?? {}) as Record<string, unknown>;
    const dims = Array.isArray(metric.Dimensions) ? metric.Dimensions : [];
    const dim = dims.find((d) => d?.Name === "DBInstanceIdentifier");
    return {
      id: Id,
      label: typeof Label === "string" ? Label : String(metric.MetricName ?? Id),
      metric: metric.Namespace === "AWS/RDS" && typeof metric.MetricName === "string"
        ? metric.MetricName
        : undefined,
      dbId: typeof dim?.Value === "string" ? dim.Value : undefined,
      period: Period,
      stat: Stat,
      unit: typeof Unit === "string" ? Unit : undefined,
    };
  });
  const { StartTime, EndTime, ScanBy, MaxDatapoints, NextToken } = body;
  for (const [name, value] of [["StartTime", StartTime], ["EndTime", EndTime]] as const) {
    if (value === undefined) throw missing(name);
    // Under AWS JSON 1.0 timestamps are epoch-second numbers; an ISO string is a client bug.
    if (typeof value !== "number" || !Number.isFinite(value)) {
      throw new FakeAwsError(
        400,
        "SerializationException",
        "SerializationException",
        `${name} must be a number of epoch seconds`,
      );
    }
  }
  if ((StartTime as number) >= (EndTime as number)) {
    throw invalid("The parameter StartTime must be less than the parameter EndTime.");
  }
  if (ScanBy !== undefined && ScanBy !== "TimestampAscending" && ScanBy !== "TimestampDescending") {
    throw invalid(`The value ${String(ScanBy)} for parameter ScanBy is not valid.`);
  }
  if (
    MaxDatapoints !== undefined &&
    (!Number.isInteger(MaxDatapoints) || (MaxDatapoints as number) < 1)
  ) {
    throw invalid("The parameter MaxDatapoints must be a positive integer.");
  }
  const { NextToken: _ignored, ...rest } = body;
  return {
    queries,
    start: StartTime as number,
    end: EndTime as number,
    ascending: ScanBy === "TimestampAscending",
    maxDatapoints: MaxDatapoints as number | undefined,
    nextToken: typeof NextToken === "string" ? NextToken : undefined,
    fingerprint: await fingerprint(rest),
  };
}

/** One page of results; `nextToken` is set when more pages follow. */
export function answerPage(
  req: ParsedRequest,
  store: FakeStore,
  pageSize: number,
): { results: WireResult[]; nextToken?: string } {
  const perQuery = req.queries.map((q) => pointsOf(q, req, store));
  const total = perQuery.reduce((n, points) => n + points.length, 0);
  const offset = req.nextToken === undefined ? 0 : readToken(req.nextToken, req.fingerprint);
  const limit = Math.min(total, offset + pageSize);
  const results: WireResult[] = [];
  let seen = 0;
  req.queries.forEach((q, i) => {
    const points = perQuery[i];
    const from = Math.max(0, offset - seen);
    const to = Math.max(0, Math.min(points.length, limit - seen));
    seen += points.length;
    const slice = points.slice(from, Math.max(from, to));
    results.push({
      Id: q.id,
      Label: q.label,
      Timestamps: slice.map(([t]) => t),
      Values: slice.map(([, v]) => v),
      StatusCode: limit < total ? "PartialData" : "Complete",
      Messages: [],
    });
  });
  if (limit >= total) return { results };
  return {
    results,
    nextToken: btoa(JSON.stringify({ offset: limit, fingerprint: req.fingerprint })),
  };
}

function pointsOf(q: Query, req: ParsedRequest, store: FakeStore): Array<[number, number]> {
  if (store.dropped || !q.metric || !q.dbId) return [];
  const stored = rdsMetric(q.metric);
  if (!stored || (q.unit !== undefined && q.unit !== stored.unit)) return [];
  // CloudWatch rounds StartTime down by its age (to the minute under 15 days, to 5 minutes up to
  // 63 days, else to the hour) and stamps points at that time + k·Period (reference §2.2).
  const age = store.dataNow ? store.dataNow().getTime() / 1000 - req.start : 0;
  const rounding = age <= 15 * 86_400 ? 60 : age <= 63 * 86_400 ? 300 : 3600;
  const first = Math.floor(req.start / rounding) * rounding;
  const fixed = store.fixed.get(seriesKey(q.metric, q.dbId));
  let points: Array<[number, number]> = [];
  if (fixed) {
    const buckets = new Map<number, number[]>();
    for (const [t, v] of fixed) {
      if (t < first || t >= req.end) continue;
      const bucket = first + Math.floor((t - first) / q.period) * q.period;
      buckets.set(bucket, [...(buckets.get(bucket) ?? []), v]);
    }
    points = [...buckets].sort(([a], [b]) => a - b).map(([t, vs]) => [t, aggregate(vs, q.stat)]);
  } else {
    for (let t = first; t < req.end; t += q.period) {
      points.push([t, generatedValue(q.metric, q.dbId, t)]);
    }
  }
  return req.ascending ? points : points.reverse();
}

function aggregate(values: number[], stat: string): number {
  const sum = values.reduce((a, b) => a + b, 0);
  switch (stat) {
    case "Minimum":
      return Math.min(...values);
    case "Maximum":
      return Math.max(...values);
    case "Sum":
      return sum;
    case "SampleCount":
      return values.length;
    default:
      return sum / values.length;
  }
}

function readToken(token: string, expected: string): number {
  try {
    const { offset, fingerprint } = JSON.parse(atob(token));
    if (fingerprint === expected && Number.isInteger(offset) && offset > 0) return offset;
  } catch {
    // Falls through to the same answer as a token from another request.
  }
  throw new FakeAwsError(
    400,
    "InvalidNextToken",
    "InvalidNextToken",
    "The service couldn't process the provided NextToken.",
  );
}

async function fingerprint(body: Record<string, unknown>): Promise<string> {
  const bytes = new TextEncoder().encode(JSON.stringify(body));
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return [...digest.slice(0, 12)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

function hash(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619) >>> 0;
  return h;
}

function missing(name: string): FakeAwsError {
  return new FakeAwsError(
    400,
    "MissingRequiredParameterException",
    "MissingParameter",
    `The parameter ${name} is required.`,
  );
}

function invalid(message: string): FakeAwsError {
  return new FakeAwsError(400, "InvalidParameterValueException", "InvalidParameterValue", message);
}
