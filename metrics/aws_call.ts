/**
 * One signed AWS POST with the retry policy of the CloudWatch client (metrics/cloudwatch.ts):
 * bounded, jittered retries of throttling, 5xx, garbage, network errors and timeouts under one
 * total budget; no redirects and a size cap (aws_http.ts); errors as CloudWatchError (AwsError)
 * with the service's name and every secret redacted. Used by the Performance Insights and RDS
 * clients; the service name given to aws4fetch is explicit (`pi`, `rds`).
 */
import { AwsClient } from "aws4fetch";
import type { AwsCredentials } from "../config.ts";
import { type AttemptFailure, AwsError, classifyErrorAnswer, redact } from "./_cloudwatch_error.ts";
import { fetchUpstream, type UpstreamAnswer } from "./aws_http.ts";
import { awsEndpoint, UnknownRegionError } from "./partitions.ts";

/** Knobs shared by the PI and RDS clients; tests shrink the timeouts and inject `fetch`. */
export interface AwsCallOptions {
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
  /** Gets one event per attempt; events carry no credentials. */
  logger?: (event: Record<string, unknown>) => void;
}

/** AwsCallOptions with every default filled in. */
export type AwsCallSettings = Required<Omit<AwsCallOptions, "logger" | "endpoint">> & {
  endpoint: string;
  log: (event: Record<string, unknown>) => void;
};

/** The defaults, as the CloudWatch client has them: 3 s an attempt, 10 s a call, 4 attempts. */
export function callSettings(options: AwsCallOptions, defaultEndpoint: string): AwsCallSettings {
  return {
    endpoint: options.endpoint ?? defaultEndpoint,
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
}

/** What one service needs: its names, how it is called, and how its answers read. */
export interface ServiceProtocol<T> {
  /** How messages name it, e.g. "Performance Insights". */
  label: string;
  /** The SigV4 service name and endpoint prefix, e.g. `pi`, `rds`. */
  signingName: string;
  contentType: string;
  /** Extra headers, e.g. X-Amz-Target for AWS JSON. */
  headers?: Record<string, string>;
  /** A 2xx answer read into a value, or undefined when it is garbage (retried). */
  parse(text: string): T | undefined;
  /** Reads an error body that is not AWS JSON (the Query protocol's XML). */
  readError?: (text: string) => { code?: string; message?: string } | undefined;
}

/** The URL for `region` from a template; a region no partition serves is an AwsError. */
export function serviceUrl(label: string, signingName: string, template: string, region: string) {
  try {
    return awsEndpoint(signingName, region, template);
  } catch (err) {
    if (!(err instanceof UnknownRegionError)) throw err;
    throw new AwsError({
      service: label,
      kind: "bad_answer",
      code: "InvalidRegion",
      message: `${err.message}; change the environment's region`,
    });
  }
}

/** Sends `body` (retrying per the settings) and returns the parsed answer, or throws AwsError. */
export async function awsCall<T>(
  settings: AwsCallSettings,
  protocol: ServiceProtocol<T>,
  target: {
    region: string;
    credentials: AwsCredentials;
    operation: string;
    /** A tighter budget (ms) than the settings' for this call, e.g. a check a request waits on. */
    budgetMs?: number;
  },
  body: string,
): Promise<T> {
  const s = target.budgetMs === undefined
    ? settings
    : { ...settings, totalBudgetMs: Math.min(settings.totalBudgetMs, target.budgetMs) };
  const url = serviceUrl(protocol.label, protocol.signingName, s.endpoint, target.region);
  const { accessKeyId, secretAccessKey, sessionToken } = target.credentials;
  const secrets = [secretAccessKey, sessionToken];
  // retries: 0 because aws4fetch retries neither 400 Throttling nor network errors.
  const aws = new AwsClient({
    accessKeyId,
    secretAccessKey,
    sessionToken,
    service: protocol.signingName,
    region: target.region,
    retries: 0,
  });
  let host: string;
  try {
    host = new URL(url).host;
  } catch {
    throw new AwsError({
      service: protocol.label,
      kind: "bad_answer",
      code: "InvalidEndpoint",
      message: `The ${protocol.label} endpoint "${url}" is not a URL`,
    });
  }
  const deadline = s.now() + s.totalBudgetMs;
  const minAttemptMs = Math.min(s.attemptTimeoutMs, 100);
  let attempts = 0;
  let failure: AttemptFailure = {
    outcome: "timeout",
    retryable: false,
    message: `${protocol.label} did not answer within the ${s.totalBudgetMs} ms budget`,
  };

  const attempt = async (
    timeoutMs: number,
  ): Promise<{ ok: true; value: T } | { ok: false; failure: AttemptFailure }> => {
    let answer: UpstreamAnswer;
    try {
      const signal = AbortSignal.timeout(timeoutMs);
      const request = await aws.sign(url, {
        method: "POST",
        headers: { "Content-Type": protocol.contentType, ...protocol.headers },
        body,
        signal,
        redirect: "manual",
      });
      answer = await fetchUpstream(request, { service: protocol.label, fetch: s.fetch });
    } catch (err) {
      const name = err instanceof Error || err instanceof DOMException ? err.name : "";
      if (name === "TimeoutError" || name === "AbortError") {
        const message = `${protocol.label} did not answer within ${Math.round(timeoutMs)} ms`;
        return { ok: false, failure: { outcome: "timeout", retryable: true, message } };
      }
      const detail = err instanceof Error ? err.message : String(err);
      const message = `Could not reach ${protocol.label} at ${host}: ${detail}`;
      return { ok: false, failure: { outcome: "network", retryable: true, message } };
    }
    if (!answer.ok) {
      const { status, message } = answer;
      return { ok: false, failure: { outcome: "refused", retryable: false, status, message } };
    }
    const { status, headers, text } = answer;
    if (status < 200 || status > 299) {
      return {
        ok: false,
        failure: classifyErrorAnswer(
          { status, headers },
          text,
          Date.now(),
          protocol.label,
          protocol.readError,
        ),
      };
    }
    const value = protocol.parse(text);
    if (value !== undefined) return { ok: true, value };
    return {
      ok: false,
      failure: {
        outcome: "malformed",
        retryable: true,
        status,
        requestId: headers.get("x-amzn-requestid") ?? undefined,
        message: `${protocol.label} answered with a body capwatch cannot read`,
      },
    };
  };

  const context = {
    event: `${protocol.signingName}.attempt`,
    operation: target.operation,
    region: target.region,
  };
  for (let i = 0; i < s.maxAttempts; i++) {
    const remaining = deadline - s.now();
    if (remaining < minAttemptMs) break;
    const started = s.now();
    const outcome = await attempt(Math.min(s.attemptTimeoutMs, remaining));
    attempts++;
    const durationMs = Math.round(s.now() - started);
    if (outcome.ok) {
      s.log({ ...context, attempt: i + 1, outcome: "ok", durationMs });
      return outcome.value;
    }
    failure = outcome.failure;
    const delayMs = Math.max(
      s.random() * Math.min(s.maxDelayMs, s.baseDelayMs * 2 ** i),
      (failure.retryAfterSeconds ?? 0) * 1000,
    );
    const retry = failure.retryable && i + 1 < s.maxAttempts &&
      s.now() + delayMs + minAttemptMs <= deadline;
    s.log({
      ...context,
      attempt: i + 1,
      outcome: failure.outcome,
      status: failure.status,
      code: failure.code,
      requestId: failure.requestId,
      durationMs,
      retry,
    });
    if (!retry) break;
    await s.sleep(delayMs);
  }
  const message = failure.outcome === "timeout"
    ? `${protocol.label} did not answer in time: ${attempts} attempt${
      attempts === 1 ? "" : "s"
    } within the ${s.totalBudgetMs} ms budget`
    : failure.message;
  const kind = failure.outcome === "throttled"
    ? "throttled"
    : failure.outcome === "timeout"
    ? "timeout"
    : "bad_answer";
  throw new AwsError({
    service: protocol.label,
    kind,
    status: failure.status,
    code: failure.code,
    message: redact(message, secrets),
    attempts,
    requestId: failure.requestId,
    retryAfterSeconds: kind === "throttled"
      ? failure.retryAfterSeconds ?? Math.max(1, Math.ceil(s.maxDelayMs / 1000))
      : undefined,
  });
}
