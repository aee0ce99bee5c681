/** CloudWatch failures: the error we throw, and how an HTTP answer is classified. */
import { parseRetryAfter } from "./aws_http.ts";

/**
 * What went wrong upstream: it maps to 503 (throttled), 502 (bad_answer) or 504 (timeout); or
 * 503 (misconfigured) when the server cannot even ask, e.g. its token file does not read.
 */
export type CloudWatchErrorKind = "throttled" | "bad_answer" | "timeout" | "misconfigured";

/**
 * An AWS call that failed for good (CloudWatch, STS, Performance Insights, RDS: `service` says
 * which); `message` is safe to show and to log.
 */
export class CloudWatchError extends Error {
  override name = "CloudWatchError";
  readonly kind: CloudWatchErrorKind;
  /** The upstream HTTP status, when there was an answer. */
  readonly status?: number;
  /** The AWS error code (e.g. `Throttling`, `AccessDenied`), when there was one. */
  readonly code?: string;
  /** For `throttled`: how long a client should wait before asking again. */
  readonly retryAfterSeconds?: number;
  /** How many HTTP attempts were made. */
  readonly attempts?: number;
  /** The `x-amzn-RequestId` of the last answer, for AWS support. */
  readonly requestId?: string;
  /** Which upstream failed: "CloudWatch", or "STS" / "container credentials" getting a key. */
  readonly service: string;

  constructor(init: {
    service?: string;
    kind: CloudWatchErrorKind;
    message: string;
    status?: number;
    code?: string;
    retryAfterSeconds?: number;
    attempts?: number;
    requestId?: string;
  }) {
    super(init.message);
    this.kind = init.kind;
    this.status = init.status;
    this.code = init.code;
    this.retryAfterSeconds = init.retryAfterSeconds;
    this.attempts = init.attempts;
    this.requestId = init.requestId;
    this.service = init.service ?? "CloudWatch";
  }
}

// The AWS SDKs' throttling codes; CloudWatch's own is a 400 `Throttling`.
const THROTTLING_CODES = new Set([
  "Throttling",
  "ThrottlingException",
  "ThrottledException",
  "RequestThrottled",
  "RequestThrottledException",
  "TooManyRequestsException",
  "RequestLimitExceeded",
  "SlowDown",
  "LimitExceededException",
]);

const TRANSIENT_STATUSES = new Set([500, 502, 503, 504]);

/** One failed attempt, before deciding whether to try again. */
export interface AttemptFailure {
  outcome:
    | "throttled"
    | "server_error"
    | "client_error"
    | "malformed"
    | "timeout"
    | "network"
    | "refused";
  retryable: boolean;
  message: string;
  status?: number;
  code?: string;
  requestId?: string;
  /** The upstream's Retry-After, bounded to 1..60 s (see aws_http.ts). */
  retryAfterSeconds?: number;
}

/** Classifies a non-2xx answer from its status, headers and body text; `nowMs` is wall-clock ms. */
export function classifyErrorAnswer(
  res: { status: number; headers: Headers },
  text: string,
  nowMs = Date.now(),
  service = "CloudWatch",
  /** Reads a non-JSON error body (an XML Query answer); JSON bodies are read by default. */
  readBody?: (text: string) => { code?: string; message?: string } | undefined,
): AttemptFailure {
  const status = res.status;
  const retryAfterSeconds = parseRetryAfter(res.headers.get("retry-after"), nowMs);
  const body = readBody ? undefined : parseObject(text);
  const read = readBody?.(text);
  const code = read?.code ?? errorCode(res.headers, body);
  const awsMessage = read?.message ??
    (body && (stringField(body, "message") ?? stringField(body, "Message")));
  const requestId = res.headers.get("x-amzn-requestid") ?? undefined;
  const message = awsMessage ??
    (body || read
      ? `${service} answered HTTP ${status}${code ? ` ${code}` : ""}`
      : `${service} answered HTTP ${status} with a body that is not ${readBody ? "XML" : "JSON"}`);
  const retry = { retryable: true, message, status, code, requestId, retryAfterSeconds } as const;
  if (status === 429 || (code !== undefined && THROTTLING_CODES.has(code))) {
    return { outcome: "throttled", ...retry };
  }
  if (TRANSIENT_STATUSES.has(status)) return { outcome: "server_error", ...retry };
  // Validation and auth errors (and any other status) will not change by asking again.
  return { outcome: "client_error", retryable: false, message, status, code, requestId };
}

/**
 * The error code the way the AWS SDKs read it: the legacy Query code from
 * `x-amzn-query-error` (before `;`), else `__type` without namespace or `:` suffix.
 */
export function errorCode(
  headers: Headers,
  body: Record<string, unknown> | undefined,
): string | undefined {
  const queryError = headers.get("x-amzn-query-error");
  if (queryError) {
    const code = queryError.split(";")[0].trim();
    if (code) return cleanCode(code);
  }
  const type = (body && stringField(body, "__type")) ?? headers.get("x-amzn-errortype") ??
    (body && stringField(body, "code"));
  if (!type) return undefined;
  const beforeColon = type.split(":")[0];
  const hash = beforeColon.indexOf("#");
  return cleanCode(hash >= 0 ? beforeColon.slice(hash + 1) : beforeColon);
}

function cleanCode(code: string): string | undefined {
  const cleaned = code.replace(/[^A-Za-z0-9_.-]/g, "").slice(0, 100);
  return cleaned || undefined;
}

/** Parses JSON text into a plain object, or undefined when it is anything else. */
export function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const value = JSON.parse(text);
    return value !== null && typeof value === "object" && !Array.isArray(value)
      ? value as Record<string, unknown>
      : undefined;
  } catch {
    return undefined;
  }
}

function stringField(body: Record<string, unknown>, key: string): string | undefined {
  const value = body[key];
  return typeof value === "string" && value !== "" ? value : undefined;
}

const MAX_MESSAGE_LENGTH = 500;

/**
 * Removes anything secret from upstream text: the given secrets verbatim, signatures, credential
 * scopes and 64-hex digests (AWS echoes the canonical request in SignatureDoesNotMatch).
 */
export function redact(text: string, secrets: Array<string | undefined>): string {
  let out = text;
  for (const secret of secrets) {
    if (secret) out = out.split(secret).join("[redacted]");
  }
  out = out
    .replace(/AWS4-HMAC-SHA256[^\n"]*/g, "AWS4-HMAC-SHA256 [redacted]")
    .replace(/Signature=[0-9a-fA-F]+/g, "Signature=[redacted]")
    .replace(/\b[0-9a-fA-F]{64}\b/g, "[redacted]")
    .replace(/x-amz-security-token:[^\n]*/gi, "x-amz-security-token:[redacted]")
    // deno-lint-ignore no-control-regex -- control characters must not reach logs or clients
    .replace(/[\u0000-\u001f\u007f]+/g, " ")
    .trim();
  return out.length > MAX_MESSAGE_LENGTH ? `${out.slice(0, MAX_MESSAGE_LENGTH)}…` : out;
}

/** The same class under a service-neutral name, for Performance Insights and RDS callers. */
export { CloudWatchError as AwsError };
