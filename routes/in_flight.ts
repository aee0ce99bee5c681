import { createMiddleware } from "hono/factory";
import { problem } from "../http/problem.ts";
import type { AppEnv } from "../http/router.ts";

/**
 * Caps the requests being handled at once: past `max`, a request is answered at once with 503 and
 * `Retry-After: retryAfterSeconds` instead of queueing work (and memory) behind slow callers.
 */
export const inFlightCap = (max: number, retryAfterSeconds = 1) => {
  let inFlight = 0;
  return createMiddleware<AppEnv>(async (c, next) => {
    if (inFlight >= max) {
      c.get("deps").logger.warn("too many requests in flight", {
        requestId: c.get("requestId"),
        max,
      });
      return problem(c, 503, `More than ${max} requests are in flight; retry shortly`, {
        headers: { "Retry-After": String(retryAfterSeconds) },
      });
    }
    inFlight++;
    try {
      await next();
    } finally {
      inFlight--;
    }
  });
};
