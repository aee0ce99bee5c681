import { createMiddleware } from "hono/factory";
import type { AppDeps } from "../http/deps.ts";
import type { AppEnv } from "../http/router.ts";
import { guardResponseHeaders } from "../http/safe_headers.ts";
import { addSecurityHeaders } from "../http/security_headers.ts";
import { headContentLength } from "./head_length.ts";
import { inFlightLimit } from "./in_flight.ts";
import { beginRequest, endRequest } from "./request_context.ts";
import { hostRefusal } from "./valid_host.ts";

/** True for the paths under /api, the ones the in-flight cap counts. */
const isApi = (path: string) => path === "/api" || path.startsWith("/api/");

/**
 * What every request does around its route, as one middleware: Hono runs each middleware as an
 * async layer of its own, and the five these steps were cost a GET ~5–10 µs at 50 in flight. In
 * order: the request context (deps, request id), the Host check, the in-flight cap (/api paths,
 * preflights included); then, once answered: the security headers, X-Request-Id and the log line,
 * HEAD's Content-Length, and last the unsafe-header guard, which sees every header set before it.
 */
export function requestPipeline(deps: AppDeps, maxInFlight: number) {
  const inFlight = inFlightLimit(maxInFlight);
  return createMiddleware<AppEnv>(async (c, next) => {
    const started = beginRequest(c, deps);
    const counted = isApi(c.req.path);
    const refused = hostRefusal(c) ?? (counted ? inFlight.enter(c) : undefined);
    if (refused) {
      c.res = refused;
    } else if (counted) {
      try {
        await next();
      } finally {
        inFlight.leave();
      }
    } else {
      await next();
    }
    await addSecurityHeaders(c);
    endRequest(c, deps, started);
    await headContentLength(c);
    guardResponseHeaders(c, deps.logger);
  });
}
