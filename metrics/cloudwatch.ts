/** CloudWatch GetMetricData over AWS JSON 1.0, signed by aws4fetch, with our own retry policy. */
import { AwsClient } from "aws4fetch";
import type { AwsCredentials } from "../config.ts";
import { metricInfo, type MetricType } from "./catalogue.ts";
import {
  type AttemptFailure,
  classifyErrorAnswer,
  CloudWatchError,
  parseObject,
  redact,
} from "./_cloudwatch_error.ts";
import { type MetricDataResult, PageMerger } from "./_cloudwatch_response.ts";
import { fetchUpstream, type UpstreamAnswer } from "./aws_http.ts";
import { awsEndpoint, UnknownRegionError } from "./partitions.ts";

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
export interface CloudWatchClientOptions {
  /** URL template; may contain `{region}` and `{dnsSuffix}` (see partitions.ts). */
  endpoint?: string;
  attemptTimeoutMs?: number;
  totalBudgetMs?: number;
  maxAttempts?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  random?: () => number;
  sleep?: (ms: number) => Promise<void>;
  fetch?: typeof fetch;
  /** Monotonic milliseconds, for the budget. */
  now?: () => number;
  logger?: (event: Record<string, unknown>) => void;
}

type AttemptOutcome =
  | { ok: true; page: Record<string, unknown> }
  | { ok: false; failure: AttemptFailure };

type Settings = Required<Omit<CloudWatchClientOptions, "logger">> & {
  log: (event: Record<string, unknown>) => void;
};

const TARGET = "GraniteServiceVersion20100801.GetMetricData";
const MAX_PAGES = 50;
/**
 * The most answer bytes one call reads over all its pages and attempts. The largest real call (a
 * 7-day snapshot: 14 series of 10,080 points) is about 5 MB; each answer is also capped alone.
 */
export const MAX_CALL_BYTES = 16 * 1024 * 1024;

/** A CloudWatch client with bounded, jittered retries under a total time budget. */
export function createCloudWatchClient(options: CloudWatchClientOptions = {}): CloudWatchClient {
  const settings: Settings = {
    endpoint: options.endpoint ?? DEFAULT_ENDPOINT,
    attemptTimeoutMs: options.attemptTimeoutMs ?? 3000,
    totalBudgetMs: options.totalBudgetMs ?? 10_000,
    maxAttempts: Math.max(1, options.maxAttempts ?? 4),
    baseDelayMs: options.baseDelayMs ?? 100,
    maxDelayMs: options.maxDelayMs ?? 2000,
    random: options.random ?? Math.random,
    sleep: options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms))),
    fetch: options.fetch ?? globalThis.fetch,
    now: options.now ?? (() => performance.now()),
    log: options.logger ?? (() => {}),
  };
  return {
    async getMetricData(req) {
      const metrics = [...new Set(req.metrics)];
      const merger = new PageMerger(metrics, req);
      if (metrics.length === 0) return merger.result();
      const call = new Call(settings, req, endpointFor(settings.endpoint, req.region));
      const secrets = [req.credentials.secretAccessKey, req.credentials.sessionToken];
      let token: string | undefined;
      let pages = 0;
      do {
        const page = await call.page(requestBody(req, metrics, token), ++pages);
        token = merger.add(page);
        const forbidden = merger.forbidden();
        if (forbidden) {
          throw new CloudWatchError({
            kind: "bad_answer",
            status: 200,
            code: "Forbidden",
            message: redact(
              forbidden.messages.join("; ") ||
                `CloudWatch refused the query for ${forbidden.type}`,
              secrets,
            ),
            attempts: call.attempts,
          });
        }
      } while (token && pages < MAX_PAGES);
      if (token) merger.note(`Stopped after ${MAX_PAGES} pages; later datapoints are missing`);
      const result = merger.result(token !== undefined);
      return { ...result, messages: result.messages.map((m) => redact(m, secrets)) };
    },
  };
}

/** The HTTP attempts of one getMetricData call, sharing one deadline. */
class Call {
  attempts = 0;
  #aws: AwsClient;
  #url: string;
  #host: string;
  #deadline: number;
  #bytesRead = 0;

  constructor(readonly settings: Settings, readonly req: GetMetricDataRequest, url: string) {
    const { accessKeyId, secretAccessKey, sessionToken } = req.credentials;
    // retries: 0 because aws4fetch retries neither 400 Throttling nor network errors.
    this.#aws = new AwsClient({
      accessKeyId,
      secretAccessKey,
      sessionToken,
      service: "monitoring",
      region: req.region,
      retries: 0,
    });
    this.#url = url;
    this.#host = endpointHost(this.#url);
    this.#deadline = settings.now() + settings.totalBudgetMs;
  }

  /** One page, retried on throttling, 5xx, garbage, network errors and timeouts. */
  async page(body: string, page: number): Promise<Record<string, unknown>> {
    const { settings: s, req } = this;
    // An attempt with less time than this left could only time out, so it is not started.
    const minAttemptMs = Math.min(s.attemptTimeoutMs, 100);
    const context = {
      event: "cloudwatch.attempt",
      operation: "GetMetricData",
      region: req.region,
      dbInstanceIdentifier: req.dbInstanceIdentifier,
      page,
    };
    let failure: AttemptFailure = {
      outcome: "timeout",
      retryable: false,
      message: `CloudWatch did not answer within the ${s.totalBudgetMs} ms budget`,
    };
    for (let attempt = 0; attempt < s.maxAttempts; attempt++) {
      const remaining = this.#deadline - s.now();
      if (remaining < minAttemptMs) break;
      const started = s.now();
      const outcome = await this.#attempt(body, Math.min(s.attemptTimeoutMs, remaining));
      this.attempts++;
      const durationMs = Math.round(s.now() - started);
      if (outcome.ok) {
        s.log({ ...context, attempt: attempt + 1, outcome: "ok", status: 200, durationMs });
        return outcome.page;
      }
      failure = outcome.failure;
      // An upstream Retry-After (already bounded) is a floor; the budget check below caps it.
      const delayMs = Math.max(
        s.random() * Math.min(s.maxDelayMs, s.baseDelayMs * 2 ** attempt),
        (failure.retryAfterSeconds ?? 0) * 1000,
      );
      const retry = failure.retryable && attempt + 1 < s.maxAttempts &&
        s.now() + delayMs + minAttemptMs <= this.#deadline;
      s.log({
        ...context,
        attempt: attempt + 1,
        outcome: failure.outcome,
        status: failure.status,
        code: failure.code,
        requestId: failure.requestId,
        durationMs,
        retry,
        ...(retry ? { delayMs: Math.round(delayMs) } : {}),
      });
      if (!retry) break;
      await s.sleep(delayMs);
    }
    throw this.#error(failure);
  }

  async #attempt(body: string, timeoutMs: number): Promise<AttemptOutcome> {
    let answer: UpstreamAnswer;
    try {
      const headers = {
        "Content-Type": "application/x-amz-json-1.0",
        "X-Amz-Target": TARGET,
        "x-amzn-query-mode": "true",
      };
      // The signal also covers reading the body, which can stall after the headers arrive.
      const signal = AbortSignal.timeout(timeoutMs);
      const request = await this.#aws.sign(this.#url, {
        method: "POST",
        headers,
        body,
        signal,
        redirect: "manual",
      });
      answer = await fetchUpstream(request, { service: "CloudWatch", fetch: this.settings.fetch });
    } catch (err) {
      const name = err instanceof Error || err instanceof DOMException ? err.name : "";
      if (name === "TimeoutError" || name === "AbortError") {
        const message = `CloudWatch did not answer within ${Math.round(timeoutMs)} ms`;
        return { ok: false, failure: { outcome: "timeout", retryable: true, message } };
      }
      const detail = err instanceof Error ? err.message : String(err);
      const message = `Could not reach CloudWatch at ${this.#host}: ${detail}`;
      return { ok: false, failure: { outcome: "network", retryable: true, message } };
    }
    if (!answer.ok) {
      // Neither a redirect nor an oversized answer changes by asking again.
      const { status, message } = answer;
      return { ok: false, failure: { outcome: "refused", retryable: false, status, message } };
    }
    const { status, headers, text } = answer;
    this.#bytesRead += text.length;
    if (this.#bytesRead > MAX_CALL_BYTES) {
      const message = `CloudWatch's answers to one call passed ${MAX_CALL_BYTES} bytes`;
      return { ok: false, failure: { outcome: "refused", retryable: false, status, message } };
    }
    if (status < 200 || status > 299) {
      return { ok: false, failure: classifyErrorAnswer({ status, headers }, text) };
    }
    const page = parseObject(text);
    if (page) return { ok: true, page };
    return {
      ok: false,
      failure: {
        outcome: "malformed",
        retryable: true,
        status,
        requestId: headers.get("x-amzn-requestid") ?? undefined,
        message: "CloudWatch answered with a body that is not a JSON object",
      },
    };
  }

  #error(failure: AttemptFailure): CloudWatchError {
    const { secretAccessKey, sessionToken } = this.req.credentials;
    // One attempt's leftover time says nothing to a caller: the budget and the attempts do.
    const message = failure.outcome === "timeout"
      ? `CloudWatch did not answer in time: ${this.attempts} attempt${
        this.attempts === 1 ? "" : "s"
      } within the ${this.settings.totalBudgetMs} ms budget`
      : failure.message;
    const kind = failure.outcome === "throttled"
      ? "throttled"
      : failure.outcome === "timeout"
      ? "timeout"
      : "bad_answer";
    return new CloudWatchError({
      kind,
      status: failure.status,
      code: failure.code,
      message: redact(message, [secretAccessKey, sessionToken]),
      attempts: this.attempts,
      requestId: failure.requestId,
      retryAfterSeconds: kind === "throttled"
        ? failure.retryAfterSeconds ?? Math.max(1, Math.ceil(this.settings.maxDelayMs / 1000))
        : undefined,
    });
  }
}

/** The URL for `region` from the endpoint template; a region no partition serves is refused. */
function endpointFor(template: string, region: string): string {
  try {
    return awsEndpoint("monitoring", region, template);
  } catch (err) {
    if (!(err instanceof UnknownRegionError)) throw err;
    throw new CloudWatchError({
      kind: "bad_answer",
      code: "InvalidRegion",
      message: `${err.message}; change the environment's region`,
    });
  }
}

function endpointHost(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    throw new CloudWatchError({
      kind: "bad_answer",
      code: "InvalidEndpoint",
      message: `The CloudWatch endpoint "${url}" is not a URL`,
    });
  }
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
