import { createMiddleware } from "hono/factory";
import { countRequest } from "../db/rate_limits.ts";
import { addAnswerHeaders } from "../http/answer.ts";
import { problem } from "../http/problem.ts";
import { isWhole } from "../http/whole_response.ts";
import type { AppEnv } from "../http/router.ts";

const WINDOW_SECONDS = 60;

/**
 * Limits each user to QUOTA_METRICS_REQUESTS_PER_MINUTE requests of the routes it guards (they
 * spend the shared AWS account's GetMetricData quota), counted in the database per fixed minute
 * of the injected clock (each instance adds its requests to the shared count at most every
 * RATE_LIMIT_FLUSH_MS, db/rate_limits.ts countRequest). Every answer says where the caller stands (draft-ietf-httpapi-ratelimit-
 * headers: RateLimit-Policy and RateLimit); past the limit, 429 with Retry-After. 0: no limit.
 */
export const metricsRateLimit = createMiddleware<AppEnv>(async (c, next) => {
  const { db, clock, config } = c.get("deps");
  const quota = config.quotas.metricsRequestsPerMinute;
  if (quota === 0) return await next();
  const now = clock().getTime();
  const windowStart = Math.floor(now / (WINDOW_SECONDS * 1000)) * WINDOW_SECONDS * 1000;
  const count = await countRequest(db, c.get("userId"), "metrics", windowStart, now);
  const reset = Math.max(1, Math.ceil((windowStart + WINDOW_SECONDS * 1000 - now) / 1000));
  const headers = {
    "RateLimit-Policy": `"metrics";q=${quota};w=${WINDOW_SECONDS}`,
    "RateLimit": `"metrics";r=${Math.max(0, quota - count)};t=${reset}`,
  };
  if (count > quota) {
    return problem(
      c,
      429,
      `You have made ${quota} metrics requests this minute, the most this server allows per user ` +
        `(QUOTA_METRICS_REQUESTS_PER_MINUTE); try again in ${reset} s`,
      { type: "rate-limited", headers: { ...headers, "Retry-After": String(reset) } },
    );
  }
  addAnswerHeaders(c, headers);
  await next();
  if (isWhole(c.res)) return; // it has them
  for (const [name, value] of Object.entries(headers)) c.res.headers.set(name, value);
});
