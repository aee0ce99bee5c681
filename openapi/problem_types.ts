// The kinds of problem capwatch answers with, one stable `type` URI each (RFC 9457 §3.1.1).

/** The path every problem type lives under; `type` is this plus the kind, e.g. /problems/not-found. */
export const PROBLEM_TYPE_BASE = "/problems/";

/** One kind of problem: its status, title, an example detail, and what a client should do. */
interface ProblemKindInfo {
  status: number;
  title: string;
  example: string;
  explanation: string;
}

/**
 * Every kind of problem. `type` is the server-relative URI /problems/<kind>, the same string on
 * every deployment so clients can switch on it; resolved against the answer's URL it is a page
 * this server answers with the explanation below.
 */
export const PROBLEM_KINDS = {
  validation: {
    status: 400,
    title: "Invalid request",
    example: "Check name",
    explanation:
      "A field, parameter or header is malformed or breaks a rule. errors[] names each one (path) and says what is wrong (message); fix those and send the request again.",
  },
  unauthenticated: {
    status: 401,
    title: "Authentication required",
    example: "Send a bearer token: Authorization: Bearer <JWT>",
    explanation:
      "The request has no valid bearer token. Send Authorization: Bearer <JWT>; the WWW-Authenticate header says why the token was refused (expired, bad signature, …).",
  },
  forbidden: {
    status: 403,
    title: "Forbidden",
    example: "Only the owner of capture 42 or an admin of its environment may edit it",
    explanation:
      "You are a member, but your role does not allow this change. Ask the owner or an environment admin.",
  },
  "not-found": {
    status: 404,
    title: "Not found",
    example: "Capture 42 does not exist or you are not a member of its environment",
    explanation:
      "Nothing with that id exists for you: it was deleted, or you are not a member of its environment (capwatch does not say which). Check the id, or ask to be added.",
  },
  "method-not-allowed": {
    status: 405,
    title: "Method not allowed",
    example: "PATCH is not supported here; use GET, POST",
    explanation:
      "The path exists but not with this method; the Allow header lists the ones it has.",
  },
  "request-timeout": {
    status: 408,
    title: "Request timeout",
    example: "The request body did not arrive within 10 seconds",
    explanation: "The request body arrived too slowly. Send it again, all at once.",
  },
  conflict: {
    status: 409,
    title: "Conflict",
    example: "Capture 42 changed while you were editing it; read it again and retry",
    explanation: "The request conflicts with the resource as it is now. Read it again and retry.",
  },
  "name-taken": {
    status: 409,
    title: "Name taken",
    example: 'Environment 1 already has a capture named "black-friday-peak"; pick another name',
    explanation: "Names are unique within their scope. Pick another name, or use the existing one.",
  },
  "invalid-state": {
    status: 409,
    title: "Not allowed in this state",
    example: "Capture 42 is already DONE (it ended at 2026-01-15T11:00:00.000Z)",
    explanation:
      "The resource's state does not allow this (stopping a capture that is not RUNNING, metrics of a SCHEDULED capture, an environment without AWS credentials or without Performance Insights, demoting or removing an environment's last admin, binding an instance another environment already reads with the server's credentials). The detail says what it is now and what to do.",
  },
  "idempotency-in-progress": {
    status: 409,
    title: "Request with this Idempotency-Key in progress",
    example: "A request with this Idempotency-Key is still being handled; retry after 1 second",
    explanation:
      "Another request with the same Idempotency-Key has not finished yet. Wait the Retry-After seconds and send the same request again: you then get its answer.",
  },
  "precondition-failed": {
    status: 412,
    title: "Precondition failed",
    example: "Capture 42 has changed since the ETag you sent in If-Match; read it again",
    explanation:
      "If-Match named a version that is no longer current: someone changed the resource after you read it. GET it again (new ETag), re-apply your change and send it with the new ETag.",
  },
  "payload-too-large": {
    status: 413,
    title: "Request body too large",
    example: "Request bodies are limited to 65536 bytes",
    explanation:
      "The request body is larger than capwatch accepts. Send only the documented fields.",
  },
  "unsupported-media-type": {
    status: 415,
    title: "Unsupported media type",
    example: "Content-Type text/plain is not application/json",
    explanation: "Send request bodies as Content-Type: application/json (UTF-8).",
  },
  "idempotency-key-reused": {
    status: 422,
    title: "Idempotency-Key reused with another request",
    example: "Idempotency-Key k-1 was first used with a different request body",
    explanation:
      "This Idempotency-Key was already used, within 24 hours, for a request with a different body. Use a new key for a new request; resend the original body to get its answer.",
  },
  "rate-limited": {
    status: 429,
    title: "Too many requests",
    example:
      "You have made 120 metrics requests this minute, the most this server allows per user (QUOTA_METRICS_REQUESTS_PER_MINUTE); try again in 30 s",
    explanation:
      "A per-minute rate limit is used up. Wait the Retry-After seconds; the RateLimit headers say how much is left.",
  },
  "quota-exceeded": {
    status: 429,
    title: "Quota exceeded",
    example:
      "You own 100 environments, the most this server allows (QUOTA_ENVIRONMENTS_PER_USER); delete one you no longer need",
    explanation:
      "A count quota (environments per user, captures or running captures per environment) is used up; the detail names its QUOTA_* variable. Waiting does not help and there is no Retry-After: delete or stop something you no longer need, or ask the operator to raise the quota.",
  },
  internal: {
    status: 500,
    title: "Internal server error",
    example: "Something went wrong on our side; quote the requestId when reporting",
    explanation: "A fault in capwatch. Quote the requestId when reporting it.",
  },
  "upstream-failed": {
    status: 502,
    title: "Bad answer from AWS",
    example: "CloudWatch AccessDenied: User is not authorized to perform cloudwatch:GetMetricData",
    explanation:
      "AWS refused or answered badly. The detail quotes AWS's code and message; fix the environment's credentials or permissions if it names them.",
  },
  "upstream-throttled": {
    status: 503,
    title: "AWS is throttling",
    example: "CloudWatch Throttling: Rate exceeded. Retry later.",
    explanation: "AWS asked capwatch to slow down. Retry after the Retry-After seconds.",
  },
  "database-busy": {
    status: 503,
    title: "Database busy",
    example:
      "The database is busy with another process's write; nothing was changed. Try again shortly",
    explanation: "The database was busy; nothing was changed. Retry after the Retry-After seconds.",
  },
  unavailable: {
    status: 503,
    title: "Service unavailable",
    example: "Too many requests in progress; retry shortly",
    explanation:
      "capwatch cannot take this request right now (too many in progress, shutting down, token keys unreachable). Retry after the Retry-After seconds.",
  },
  "upstream-timeout": {
    status: 504,
    title: "AWS timed out",
    example: "CloudWatch did not answer within 10 seconds. Retry later.",
    explanation: "AWS did not answer in time. Retry later.",
  },
} as const satisfies Record<string, ProblemKindInfo>;

/** A kind of problem, the last segment of its `type` URI. */
export type ProblemKind = keyof typeof PROBLEM_KINDS;

/** The kind a problem of `status` has when its caller names none. */
export const DEFAULT_KIND: Record<number, ProblemKind> = {
  400: "validation",
  401: "unauthenticated",
  403: "forbidden",
  404: "not-found",
  405: "method-not-allowed",
  408: "request-timeout",
  409: "conflict",
  412: "precondition-failed",
  413: "payload-too-large",
  415: "unsupported-media-type",
  422: "idempotency-key-reused",
  429: "rate-limited",
  500: "internal",
  502: "upstream-failed",
  503: "unavailable",
  504: "upstream-timeout",
};

/** The `type` URI of a kind: /problems/<kind>. */
export const problemType = (kind: ProblemKind) => `${PROBLEM_TYPE_BASE}${kind}`;

/** Every kind answering with `status`, in catalogue order. */
export const kindsOfStatus = (status: number): ProblemKind[] =>
  (Object.keys(PROBLEM_KINDS) as ProblemKind[]).filter((k) => PROBLEM_KINDS[k].status === status);
