/** CloudWatch GetMetricData over AWS JSON 1.0, signed by aws4fetch, with our own retry policy. */
import type { AwsCredentials } from "../config.ts";
import { metricInfo, type MetricType } from "./catalogue.ts";
import { CloudWatchError, parseObject } from "./_cloudwatch_error.ts";
import { type MetricDataResult, PageMerger } from "./_cloudwatch_response.ts";
import { type AwsCallOptions, callSettings, type ServiceProtocol, SignedCall } from "./aws_call.ts";

export { CloudWatchError, type CloudWatchErrorKind } from "./_cloudwatch_error.ts";
export type { Datapoint, MetricDataResult, MetricSeries } from "./_cloudwatch_response.ts";
// One declaration, in config.ts; the secret and token are never logged nor put in errors.
export type { AwsCredentials };

/** The public CloudWatch endpoint; `{region}` and the partition's `{dnsSuffix}` are filled per call. */
export const DEFAULT_ENDPOINT = "https://monitoring.{region}.{dnsSuffix}/";

/** One GetMetricData call: every metric of one RDS instance over one aligned window. */
export interface GetMetricDataRequest {
  region: string;
  credentials: AwsCredentials;
  dbInstanceIdentifier: string;
  metrics: MetricType[];
  stat: string;
  period: number;
  /** Epoch seconds, inclusive. */
  startTime: number;
  /** Epoch seconds, exclusive. */
  endTime: number;
}

/** Reads RDS metrics from CloudWatch. */
export interface CloudWatchClient {
  getMetricData(req: GetMetricDataRequest): Promise<MetricDataResult>;
}

/** Knobs of the client; tests shrink the timeouts and inject `fetch`, `sleep` and `random`. */
export type CloudWatchClientOptions = AwsCallOptions;

const TARGET = "GraniteServiceVersion20100801.GetMetricData";
const MAX_PAGES = 50;
/**
 * The most answer bytes one call reads over all its pages and attempts. The largest real call (a
 * 7-day snapshot: 14 series of 10,080 points) is about 5 MB; each answer is also capped alone.
 */
export const MAX_CALL_BYTES = 16 * 1024 * 1024;

const PROTOCOL: ServiceProtocol<Record<string, unknown>> = {
  label: "CloudWatch",
  signingName: "monitoring",
  contentType: "application/x-amz-json-1.0",
  headers: { "X-Amz-Target": TARGET, "x-amzn-query-mode": "true" },
  parse: parseObject,
  malformedMessage: "CloudWatch answered with a body that is not a JSON object",
  maxCallBytes: MAX_CALL_BYTES,
};

/** A CloudWatch client with bounded, jittered retries under a total time budget (aws_call.ts). */
export function createCloudWatchClient(options: CloudWatchClientOptions = {}): CloudWatchClient {
  const settings = callSettings(options, DEFAULT_ENDPOINT);
  return {
    async getMetricData(req) {
      const metrics = [...new Set(req.metrics)];
      const merger = new PageMerger(metrics, req);
      if (metrics.length === 0) return merger.result();
      // Every page shares one deadline, one attempt count and one byte cap.
      const call = new SignedCall(settings, PROTOCOL, { ...req, operation: "GetMetricData" });
      const context = {
        event: "cloudwatch.attempt",
        dbInstanceIdentifier: req.dbInstanceIdentifier,
      };
      let token: string | undefined;
      let pages = 0;
      do {
        const page = await call.send(requestBody(req, metrics, token), {
          ...context,
          page: ++pages,
        });
        token = merger.add(page);
        const forbidden = merger.forbidden();
        if (forbidden) {
          throw new CloudWatchError({
            kind: "bad_answer",
            status: 200,
            code: "Forbidden",
            message: call.redact(
              forbidden.messages.join("; ") ||
                `CloudWatch refused the query for ${forbidden.type}`,
            ),
            attempts: call.attempts,
          });
        }
      } while (token && pages < MAX_PAGES);
      if (token) merger.note(`Stopped after ${MAX_PAGES} pages; later datapoints are missing`);
      const result = merger.result(token !== undefined);
      return { ...result, messages: result.messages.map((m) => call.redact(m)) };
    },
  };
}

/** The JSON body of one page; only NextToken differs between pages. */
function requestBody(req: GetMetricDataRequest, metrics: MetricType[], token?: string): string {
  return JSON.stringify({
    // Unit is left out on purpose: a unit that differs from the stored one returns no data.
    MetricDataQueries: metrics.map((type) => ({
      Id: metricInfo(type).queryId,
      MetricStat: {
        Metric: {
          Namespace: "AWS/RDS",
          MetricName: type,
          Dimensions: [{ Name: "DBInstanceIdentifier", Value: req.dbInstanceIdentifier }],
        },
        Period: req.period,
        Stat: req.stat,
      },
      ReturnData: true,
    })),
    StartTime: req.startTime,
    EndTime: req.endTime,
    ScanBy: "TimestampAscending",
    ...(token ? { NextToken: token } : {}),
  });
}
