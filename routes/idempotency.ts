import { createMiddleware } from "hono/factory";
import { claimKey, type KeyScope, releaseKey, storeAnswer } from "../db/idempotency.ts";
import { problem } from "../http/problem.ts";
import type { AppEnv } from "../http/router.ts";
import { IDEMPOTENCY_KEY_MAX, IDEMPOTENCY_KEY_PATTERN } from "../openapi/schemas/headers.ts";
import { hex, sha256 } from "../hex.ts";

/** How long a first answer is kept for replay (ms): 24 hours. */
export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;
/** How long a claim holds without an answer before a retry may take it over (ms). */
const CLAIM_MS = 60_000;
/** The answer headers a replay repeats; X-Request-Id is the retry's own. */
const REPLAYED_HEADERS = ["content-type", "location", "etag", "retry-after", "allow"];

/** The longest path whose key is kept; every path naming a resource is far shorter. */
const PATH_MAX = 256;

/**
 * Idempotency-Key (draft-ietf-httpapi-idempotency-key-header): the first answer to a request
 * with a key is kept for 24 h per caller, method and path, and replayed (marked
 * `Idempotent-Replayed: true`) to a retry with the same body; another body is 422, and a retry
 * while the first is still being handled is 409 with Retry-After. Only answers that are the
 * operation's decision on state are kept (2xx, and 409 such as name taken or not running); a
 * refusal of the request itself (400, 401, 403, 404, 412, 413, 415, 422, 429, 5xx) is not, so
 * the retry is judged afresh. Runs after requireUser (the caller is known).
 */
export const idempotent = createMiddleware<AppEnv>(async (c, next) => {
  const key = c.req.header("idempotency-key");
  if (key === undefined) return next();
  if (key.length === 0 || key.length > IDEMPOTENCY_KEY_MAX || !IDEMPOTENCY_KEY_PATTERN.test(key)) {
    const message = `must be 1–${IDEMPOTENCY_KEY_MAX} printable ASCII characters without spaces`;
    return problem(c, 400, "Check Idempotency-Key", {
      errors: [{ path: "Idempotency-Key", message }],
    });
  }
  const { db, clock } = c.get("deps");
  const scope: KeyScope = {
    callerId: c.get("userId"),
    method: c.req.method,
    path: c.req.path.replace(/(.)\/+$/, "$1"),
    key,
  };
  // Such a path names nothing (the route answers 400 or 404), so there is nothing to keep.
  if (scope.path.length > PATH_MAX) return next();
  // Read through Hono's body cache, so the validators after this parse the same bytes.
  const requestHash = await requestHashOf(await c.req.text());
  const token = crypto.randomUUID();
  const claim = await claimKey(db, scope, {
    requestHash,
    token,
    now: clock().getTime(),
    ttlMs: IDEMPOTENCY_TTL_MS,
    claimMs: CLAIM_MS,
  });
  if (!claim.claimed) {
    if (claim.requestHash !== requestHash) {
      return problem(c, 422, "This Idempotency-Key was first used with a different request body", {
        type: "idempotency-key-reused",
        errors: [{ path: "Idempotency-Key", message: "use a new key for a different request" }],
      });
    }
    if (!claim.answer) {
      return problem(
        c,
        409,
        "A request with this Idempotency-Key is still being handled; retry after 1 second",
        { type: "idempotency-in-progress", headers: { "Retry-After": "1" } },
      );
    }
    const headers = new Headers(claim.answer.headers);
    headers.set("Idempotent-Replayed", "true");
    const { status, body } = claim.answer;
    const replayed = isProblem(headers) ? withRequestId(body, c.get("requestId")) : body;
    return new Response(replayed === "" ? null : replayed, { status, headers });
  }
  await next();
  const status = c.res.status;
  if (!(status >= 200 && status < 300) && status !== 409) {
    await releaseKey(db, scope, token);
    return;
  }
  const headers: Record<string, string> = {};
  for (const name of REPLAYED_HEADERS) {
    const value = c.res.headers.get(name);
    if (value !== null) headers[name] = value;
  }
  const body = await c.res.clone().text();
  if (!await storeAnswer(db, scope, token, { status, headers, body })) {
    c.get("deps").logger.warn("idempotency claim lost before the answer was stored", {
      requestId: c.get("requestId"),
    });
  }
});

const isProblem = (headers: Headers) =>
  (headers.get("content-type") ?? "").startsWith("application/problem+json");

/**
 * A kept problem body with the retry's requestId, so the body and the X-Request-Id header name
 * the same request (the one whose log lines a report would quote).
 */
function withRequestId(body: string, requestId: string): string {
  try {
    const problem = JSON.parse(body);
    if (problem === null || typeof problem !== "object" || Array.isArray(problem)) return body;
    return JSON.stringify({ ...problem, requestId });
  } catch {
    return body;
  }
}

/** SHA-256 (hex) of a request body in canonical JSON: what a retry's body must match. */
export function requestHashOf(body: string): Promise<string> {
  return sha256Hex(canonicalBody(body));
}

/** The body in canonical JSON (keys sorted, no spaces), so key order and spacing don't count. */
function canonicalBody(text: string): string {
  if (text.trim() === "") return "";
  try {
    return JSON.stringify(sorted(JSON.parse(text)));
  } catch {
    return text;
  }
}

function sorted(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sorted);
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(
    Object.keys(value).sort().map((k) => [k, sorted((value as Record<string, unknown>)[k])]),
  );
}

async function sha256Hex(text: string): Promise<string> {
  return hex(await sha256(text));
}
