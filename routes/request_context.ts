import { createMiddleware } from "hono/factory";
import type { AppDeps } from "./deps.ts";
import type { AppEnv } from "./router.ts";

const CLIENT_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Sets deps and a request id, echoes X-Request-Id, and logs one JSON line per request. */
export const requestContext = (deps: AppDeps) =>
  createMiddleware<AppEnv>(async (c, next) => {
    const started = performance.now();
    const offered = c.req.header("x-request-id");
    const requestId = offered && CLIENT_REQUEST_ID.test(offered) ? offered : crypto.randomUUID();
    c.set("deps", deps);
    c.set("requestId", requestId);
    await next();
    c.header("X-Request-Id", requestId);
    deps.logger.info("request", {
      method: c.req.method,
      route: c.req.routePath,
      status: c.res.status,
      durationMs: Math.round((performance.now() - started) * 100) / 100,
      requestId,
      userId: c.get("userId") ?? null,
    });
  });
