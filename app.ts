import { OpenAPIHono } from "@hono/zod-openapi";
import { bodyLimit } from "hono/body-limit";
import { HTTPException } from "hono/http-exception";
import type { MiddlewareHandler } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { mountDocs } from "./routes/docs.ts";
import { openApiDocument } from "./routes/openapi_document.ts";
import type { AppDeps } from "./http/deps.ts";
import { capturesRouter } from "./routes/captures/mod.ts";
import { environmentsRouter } from "./routes/environments/mod.ts";
import { healthRouter } from "./routes/health.ts";
import { membersRouter } from "./routes/members/mod.ts";
import { problemsRouter } from "./routes/problems.ts";
import { problem } from "./http/problem.ts";
import { type AppEnv, validationHook } from "./http/router.ts";
import { allowedMethods } from "./routes/allowed_methods.ts";
import { driverCause, findBusyError } from "./db/errors.ts";
import { bodyDeadline, BodyTimeoutError, bodyTimeoutProblem } from "./routes/body_deadline.ts";
import { corsFor } from "./routes/cors.ts";
import { requestPipeline } from "./routes/request_pipeline.ts";

/**
 * The largest request body, in bytes. Every body capwatch takes is well under 2 KB; the limit
 * also bounds what one request can spend of the event loop parsing and validating JSON (a 1 MiB
 * body of unknown keys took ~100 ms, enough for a few clients to stall everyone).
 */
export const MAX_BODY_BYTES = 64 * 1024;

/** Per-process request limits; see README "Connections and slow clients". */
export interface RequestLimits {
  /** Time (ms) from a request's arrival by which its body must have been read; else 408. */
  bodyTimeoutMs: number;
  /** /api requests handled at once; more are answered 503 with Retry-After. */
  maxInFlight: number;
}

/**
 * `outer` then `inner` (outer's next() runs inner) as one layer, for requests that may carry a
 * body a route reads: no route reads a GET's or a HEAD's, and asking Deno for a request's body
 * stream costs every read request.
 */
function withBody(
  outer: MiddlewareHandler<AppEnv>,
  inner: MiddlewareHandler<AppEnv>,
): MiddlewareHandler<AppEnv> {
  return (c, next) =>
    c.req.method === "GET" || c.req.method === "HEAD" ? next() : outer(c, async () => {
      // What Hono does with a middleware's answer: the body limit returns its 413.
      const answer = await inner(c, next);
      if (answer instanceof Response) c.res = answer;
    });
}

/** The limits main.ts runs with. */
const DEFAULT_LIMITS: RequestLimits = { bodyTimeoutMs: 10_000, maxInFlight: 256 };

/** Builds the whole API around its dependencies; no I/O happens here. */
export function createApp(deps: AppDeps, limits: RequestLimits = DEFAULT_LIMITS) {
  // strict: false so /api/captures/ (as the old MyCRT client calls it) is /api/captures.
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook, strict: false });

  // First, so its steps after the route (security headers, X-Request-Id, the log line, the
  // unsafe-header guard) see every answer, CORS preflights, notFound and onError included.
  const cors = deps.config.corsOrigins ? corsFor(deps.config.corsOrigins) : undefined;
  app.use("*", requestPipeline(deps, limits.maxInFlight, cors));
  app.use(
    "/api/*",
    withBody(
      bodyDeadline(limits.bodyTimeoutMs),
      bodyLimit({
        maxSize: MAX_BODY_BYTES,
        onError: (c) => problem(c, 413, `Request bodies are limited to ${MAX_BODY_BYTES} bytes`),
      }),
    ),
  );

  app.route("/", healthRouter());
  app.route("/", environmentsRouter());
  app.route("/", membersRouter());
  app.route("/", capturesRouter());
  app.route("/", problemsRouter());

  mountDocs(app, openApiDocument(app), {
    persistAuthorization: deps.config.docsPersistAuthorization ?? false,
  });

  app.notFound((c) => {
    // HEAD is GET without the body: its answer says GET so its length is the GET's.
    const method = c.req.method === "HEAD" ? "GET" : c.req.method;
    const allowed = allowedMethods(app.routes, c.req.path);
    if (allowed.length > 0) {
      return problem(c, 405, `${method} is not supported here; use ${allowed.join(", ")}`, {
        headers: { Allow: allowed.join(", ") },
      });
    }
    return problem(c, 404, `No route ${method} ${c.req.path}; see /docs`);
  });

  app.onError((error, c) => {
    // The body deadline cut the read: the caller's pace, answered 408 (routes/body_deadline.ts).
    const late = error instanceof BodyTimeoutError ? error : error.cause;
    if (late instanceof BodyTimeoutError) return bodyTimeoutProblem(c, late.timeoutMs);
    if (error instanceof HTTPException && error.status < 500) {
      // 415 never arrives here: routes/json_body.ts answers it before any body is parsed.
      const detail = error.status === 400 ? "The request body is not valid JSON" : error.message;
      const errors = error.status === 400
        ? [{ path: "body", message: "is not valid JSON" }]
        : undefined;
      return problem(c, error.status as ContentfulStatusCode, detail, { errors });
    }
    const busy = findBusyError(error);
    if (busy) {
      deps.logger.warn("database busy", {
        requestId: c.get("requestId"),
        method: c.req.method,
        path: c.req.path,
        cause: driverCause(busy),
      });
      return problem(
        c,
        503,
        "The database is busy with another process's write; nothing was changed. Try again shortly",
        { type: "database-busy", headers: { "Retry-After": String(busy.retryAfterSeconds) } },
      );
    }
    deps.logger.error("unhandled error", {
      requestId: c.get("requestId"),
      method: c.req.method,
      path: c.req.path,
      // drizzle's message is the SQL; the driver's code and message say what went wrong.
      cause: driverCause(error),
      error: error instanceof Error ? error.stack ?? error.message : String(error),
    });
    return problem(c, 500, "Something went wrong on our side; quote the requestId when reporting");
  });

  return app;
}
