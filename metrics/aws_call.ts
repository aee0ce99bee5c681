/**
 * One signed AWS POST with the retry policy of the CloudWatch client (metrics/cloudwatch.ts):
 * bounded, jittered retries of throttling, 5xx, garbage, network errors and timeouts under one
 * total budget; no redirects and a size cap (aws_http.ts); errors as CloudWatchError (AwsError)
 * with the service's name and every secret redacted. Used by the CloudWatch, Performance Insights
 * and RDS clients; the service name given to aws4fetch is explicit (`monitoring`, `pi`, `rds`).
 */
import { AwsClient } from "aws4fetch";
import type { AwsCredentials } from "../config.ts";
import { type AttemptFailure, AwsError, classifyErrorAnswer, redact } from "./_cloudwatch_error.ts";
import { fetchUpstream, type UpstreamAnswer } from "./aws_http.ts";
import { awsEndpoint, UnknownRegionError } from "./partitions.ts";

/** Knobs shared by the CloudWatch, PI and RDS clients; tests shrink the timeouts and inject `fetch`. */
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
  /** The message of a 2xx answer `parse` cannot read; a generic one by default. */
  malformedMessage?: string;
  /** The most answer bytes one SignedCall reads over all its sends and attempts; no cap by default. */
  maxCallBytes?: number;
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

/** Where one call goes and under whose keys; `budgetMs` tightens the settings' total budget. */
export interface CallTarget {
  region: string;
  credentials: AwsCredentials;
  operation: string;
  /** A tighter budget (ms) than the settings' for this call, e.g. a check a request waits on. */
  budgetMs?: number;
}

/** Sends `body` (retrying per the settings) and returns the parsed answer, or throws AwsError. */
export function awsCall<T>(
  settings: AwsCallSettings,
  protocol: ServiceProtocol<T>,
  target: CallTarget,
  body: string,
): Promise<T> {
  return new SignedCall(settings, protocol, target).send(body);
}

type AttemptOutcome<T> = { ok: true; value: T; status: number } | {
  ok: false;
  failure: AttemptFailure;
};

/**
 * The HTTP attempts of one logical call (one request, or every page of a paged one) sharing one
 * deadline, one attempt count and, when `protocol.maxCallBytes` is set, one cap on answer bytes.
 * Construction throws AwsError for a region no partition serves or an endpoint that is not a URL.
 */
export class SignedCall<T> {
  /** Attempts made so far over every `send`. */
  attempts = 0;
  readonly #s: AwsCallSettings;
  readonly #protocol: ServiceProtocol<T>;
  readonly #target: CallTarget;
  readonly #aws: AwsClient;
  readonly #url: string;
  readonly #host: string;
  readonly #deadline: number;
  readonly #secrets: Array<string | undefined>;
  #bytesRead = 0;

  constructor(settings: AwsCallSettings, protocol: ServiceProtocol<T>, target: CallTarget) {
    const s = target.budgetMs === undefined
      ? settings
      : { ...settings, totalBudgetMs: Math.min(settings.totalBudgetMs, target.budgetMs) };
    this.#s = s;
    this.#protocol = protocol;
    this.#target = target;
    this.#url = serviceUrl(protocol.label, protocol.signingName, s.endpoint, target.region);
    const { accessKeyId, secretAccessKey, sessionToken } = target.credentials;
    this.#secrets = [secretAccessKey, sessionToken];
    // retries: 0 because aws4fetch retries neither 400 Throttling nor network errors.
    this.#aws = new AwsClient({
      accessKeyId,
      secretAccessKey,
      sessionToken,
      service: protocol.signingName,
      region: target.region,
      retries: 0,
    });
    try {
      this.#host = new URL(this.#url).host;
    } catch {
      throw new AwsError({
        service: protocol.label,
        kind: "bad_answer",
        code: "InvalidEndpoint",
        message: `The ${protocol.label} endpoint "${this.#url}" is not a URL`,
      });
    }
    this.#deadline = s.now() + s.totalBudgetMs;
  }

  /** `text` with the call's secret key and session token redacted. */
  redact(text: string): string {
    return redact(text, this.#secrets);
  }

  /**
   * Sends `body`, retried on throttling, 5xx, garbage, network errors and timeouts; `log` adds
   * fields to (or overrides) each attempt's log event. Throws AwsError once it gives up.
   */
  async send(body: string, log: Record<string, unknown> = {}): Promise<T> {
    const { protocol, s } = { protocol: this.#protocol, s: this.#s };
    // An attempt with less time than this left could only time out, so it is not started.
    const minAttemptMs = Math.min(s.attemptTimeoutMs, 100);
    let failure: AttemptFailure = {
      outcome: "timeout",
      retryable: false,
      message: `${protocol.label} did not answer within the ${s.totalBudgetMs} ms budget`,
    };
    const context = {
      event: `${protocol.signingName}.attempt`,
      operation: this.#target.operation,
      region: this.#target.region,
      ...log,
    };
    for (let i = 0; i < s.maxAttempts; i++) {
      const remaining = this.#deadline - s.now();
      if (remaining < minAttemptMs) break;
      const started = s.now();
      const outcome = await this.#attempt(body, Math.min(s.attemptTimeoutMs, remaining));
      this.attempts++;
      const durationMs = Math.round(s.now() - started);
      if (outcome.ok) {
        s.log({ ...context, attempt: i + 1, outcome: "ok", status: outcome.status, durationMs });
        return outcome.value;
      }
      failure = outcome.failure;
      // An upstream Retry-After (already bounded) is a floor; the budget check below caps it.
      const delayMs = Math.max(
        s.random() * Math.min(s.maxDelayMs, s.baseDelayMs * 2 ** i),
        (failure.retryAfterSeconds ?? 0) * 1000,
      );
      const retry = failure.retryable && i + 1 < s.maxAttempts &&
        s.now() + delayMs + minAttemptMs <= this.#deadline;
      s.log({
        ...context,
        attempt: i + 1,
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

  async #attempt(body: string, timeoutMs: number): Promise<AttemptOutcome<T>> {
    const { protocol, s } = { protocol: this.#protocol, s: this.#s };
    let answer: UpstreamAnswer;
    try {
      // The signal also covers reading the body, which can stall after the headers arrive.
      const signal = AbortSignal.timeout(timeoutMs);
      const request = await this.#aws.sign(this.#url, {
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
      const message = `Could not reach ${protocol.label} at ${this.#host}: ${detail}`;
      return { ok: false, failure: { outcome: "network", retryable: true, message } };
    }
    if (!answer.ok) {
      // Neither a redirect nor an oversized answer changes by asking again.
      const { status, message } = answer;
      return { ok: false, failure: { outcome: "refused", retryable: false, status, message } };
    }
    const { status, headers, text } = answer;
    this.#bytesRead += text.length;
    if (protocol.maxCallBytes !== undefined && this.#bytesRead > protocol.maxCallBytes) {
      const message =
        `${protocol.label}'s answers to one call passed ${protocol.maxCallBytes} bytes`;
      return { ok: false, failure: { outcome: "refused", retryable: false, status, message } };
    }
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
    if (value !== undefined) return { ok: true, value, status };
    return {
      ok: false,
      failure: {
        outcome: "malformed",
        retryable: true,
        status,
        requestId: headers.get("x-amzn-requestid") ?? undefined,
        message: protocol.malformedMessage ??
          `${protocol.label} answered with a body capwatch cannot read`,
      },
    };
  }

  #error(failure: AttemptFailure): AwsError {
    const { protocol, s, attempts } = {
      protocol: this.#protocol,
      s: this.#s,
      attempts: this.attempts,
    };
    // One attempt's leftover time says nothing to a caller: the budget and the attempts do.
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
    return new AwsError({
      service: protocol.label,
      kind,
      status: failure.status,
      code: failure.code,
      message: this.redact(message),
      attempts,
      requestId: failure.requestId,
      retryAfterSeconds: kind === "throttled"
        ? failure.retryAfterSeconds ?? Math.max(1, Math.ceil(s.maxDelayMs / 1000))
        : undefined,
    });
  }
}
