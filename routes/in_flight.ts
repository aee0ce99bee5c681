import type { Context } from "hono";
import { problem } from "../http/problem.ts";
import type { AppEnv } from "../http/router.ts";

/**
 * Caps the requests being handled at once: past `max`, `enter()` answers a 503 with
 * `Retry-After: retryAfterSeconds` at once instead of queueing work (and memory) behind slow
 * callers; otherwise it counts the request in (undefined) and `leave()` counts it out.
 */
export function inFlightLimit(max: number, retryAfterSeconds = 1) {
  let inFlight = 0;
  return {
    enter(c: Context<AppEnv>): Response | undefined {
      if (inFlight < max) {
        inFlight++;
        return undefined;
      }
      c.get("deps").logger.warn("too many requests in flight", {
        requestId: c.get("requestId"),
        max,
      });
      return problem(c, 503, `More than ${max} requests are in flight; retry shortly`, {
        headers: { "Retry-After": String(retryAfterSeconds) },
      });
    },
    leave(): void {
      inFlight--;
    },
  };
}
