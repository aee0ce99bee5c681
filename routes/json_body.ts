import { createMiddleware } from "hono/factory";
import { jsonContentTypeProblem } from "../inputs.ts";
import { problem } from "../http/problem.ts";
import type { AppEnv } from "../http/router.ts";

const CANONICAL = "application/json";
// Stateless between calls (no `stream` option), so one decoder serves every request.
const STRICT_UTF8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Admits a JSON request body only under a Content-Type that parses (RFC 9110 §8.3.1) to
 * application/json, with charset utf-8 if any; else 415 naming the header. The request then
 * carries the canonical `application/json`, so the pattern @hono/zod-openapi matches afterwards
 * sees one spelling and this parser alone decides. A request without a Content-Type passes only
 * when it has no body (validation then names the missing fields).
 */
export const requireJsonBody = createMiddleware<AppEnv>(async (c, next) => {
  const contentType = c.req.header("content-type");
  if (contentType === undefined) {
    // Read through Hono's body cache so the validators after this see the same (empty) body.
    if (c.req.raw.body !== null && (await c.req.arrayBuffer()).byteLength > 0) {
      return refuse(c, "is missing; send the body as application/json");
    }
    return next();
  }
  if (contentType !== CANONICAL) {
    const reason = jsonContentTypeProblem(contentType);
    if (reason) return refuse(c, reason);
    // A copy of the request (its headers and body): only for the spellings that need it.
    const headers = new Headers(c.req.raw.headers);
    headers.set("content-type", CANONICAL);
    c.req.raw = new Request(c.req.raw, { headers });
  }
  // Request.json() would turn malformed bytes into U+FFFD and store them; refuse them instead.
  // The text decoded here goes into Hono's body cache: c.req.json() and c.req.text() after this
  // (the validators, Idempotency-Key's hash) parse these same characters and read nothing again.
  if (c.req.raw.body !== null) {
    try {
      const text = STRICT_UTF8.decode(await c.req.arrayBuffer());
      // Hono keeps promises there (its `text()` returns the entry, `json()` chains on it), though
      // its type says string.
      (c.req.bodyCache as Record<string, unknown>).text = Promise.resolve(text);
    } catch (error) {
      if (!(error instanceof TypeError)) throw error;
      return problem(c, 400, "The request body is not valid UTF-8", {
        errors: [{ path: "body", message: "is not valid UTF-8" }],
      });
    }
  }
  await next();
});

function refuse(c: Parameters<typeof problem>[0], reason: string) {
  return problem(c, 415, `Content-Type ${reason}`, {
    errors: [{ path: "Content-Type", message: reason }],
  });
}
