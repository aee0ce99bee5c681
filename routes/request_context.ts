import type { Context } from "hono";
import { matchedRoutes } from "hono/route";
import type { AppDeps } from "../http/deps.ts";
import type { AppEnv } from "../http/router.ts";
import { isWhole } from "../http/whole_response.ts";

const CLIENT_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Starts a request: sets deps and a request id (the client's X-Request-Id when it is short and
 * plain, else a new UUID). Returns when it started (performance.now(), ms) for endRequest().
 */
export function beginRequest(c: Context<AppEnv>, deps: AppDeps): number {
  const started = performance.now();
  const offered = c.req.header("x-request-id");
  const requestId = offered && CLIENT_REQUEST_ID.test(offered) ? offered : crypto.randomUUID();
  c.set("deps", deps);
  c.set("requestId", requestId);
  return started;
}

/**
 * Ends a request begun at `started`: echoes its id in X-Request-Id and logs one JSON line. The
 * line holds the route pattern, never the raw path, query, headers or body, so tokens and ids in
 * them stay out of logs.
 */
export function endRequest(c: Context<AppEnv>, deps: AppDeps, started: number): void {
  const requestId = c.get("requestId");
  // On the response's own headers: c.header() after the handler would copy the whole response
  // and turn its text body into a stream, which Deno then writes chunk by chunk. An answer
  // built whole (http/answer.ts) has it already.
  if (!isWhole(c.res)) c.res.headers.set("X-Request-Id", requestId);
  deps.logger.info("request", {
    method: c.req.method,
    route: routeOf(c),
    status: c.res.status,
    durationMs: Math.round((performance.now() - started) * 100) / 100,
    requestId,
    userId: c.get("userId") ?? null,
  });
}

/** The pattern of the route the request matched, or null when none did (404 and 405 answers). */
function routeOf(c: Parameters<typeof matchedRoutes>[0]): string | null {
  const routes = matchedRoutes(c);
  // Middleware registered with use() has method ALL; when it answered (a 413 from the body
  // limit), name the route the request was heading for.
  const answered = routes.at(c.req.routeIndex);
  const route = answered?.method !== "ALL" ? answered : routes.findLast((r) => r.method !== "ALL");
  return route?.path ?? null;
}
