import type { Context, MiddlewareHandler, Next } from "hono";
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
 * order: the request context (deps, request id), the Host check, `cors` when CORS_ORIGINS is set
 * (Hono's: it answers preflights itself, and its headers reach every answer after it, refusals
 * included), the in-flight cap (/api paths); then, once answered: the security headers,
 * X-Request-Id and the log line, HEAD's Content-Length, and last the unsafe-header guard, which
 * sees every header set before it.
 */
export function requestPipeline(deps: AppDeps, maxInFlight: number, cors?: MiddlewareHandler) {
  const inFlight = inFlightLimit(maxInFlight);
  /** The in-flight cap around the route (what `cors` calls as its next()). */
  const counted = async (c: Context<AppEnv>, next: Next) => {
    if (!isApi(c.req.path)) return await next();
    const refused = inFlight.enter(c);
    if (refused) {
      c.res = refused;
      return;
    }
    try {
      await next();
    } finally {
      inFlight.leave();
    }
  };
  return createMiddleware<AppEnv>(async (c, next) => {
    const started = beginRequest(c, deps);
    const refused = hostRefusal(c);
    if (refused) {
      c.res = refused;
    } else if (cors) {
      // What Hono does with a middleware's answer: a preflight's 204 becomes the response.
      const answer = await cors(c, () => counted(c, next));
      if (answer instanceof Response) c.res = answer;
    } else {
      await counted(c, next);
    }
    await addSecurityHeaders(c);
    endRequest(c, deps, started);
    await headContentLength(c);
    guardResponseHeaders(c, deps.logger);
  });
}
