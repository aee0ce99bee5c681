import type { MiddlewareHandler } from "hono";
import { cors } from "hono/cors";

/** Response headers a browser app on another origin may read. */
export const EXPOSED_HEADERS = [
  "Link",
  "Location",
  "ETag",
  "X-Request-Id",
  "Retry-After",
  "Idempotent-Replayed",
  "RateLimit",
  "RateLimit-Policy",
  // A 401's bearer challenge and a 405's methods: what to do next, readable from a browser app.
  "WWW-Authenticate",
  "Allow",
];

/** Request headers such an app may send. */
export const ALLOWED_HEADERS = [
  "Authorization",
  "Content-Type",
  "Idempotency-Key",
  "If-Match",
  "If-None-Match",
  "X-Request-Id",
];

/**
 * CORS for the origins in CORS_ORIGINS (Hono's cors): preflights answered 204, the headers above
 * allowed and exposed. No credentials: capwatch reads bearer tokens, never cookies. With a list
 * of origins, Hono appends `Vary: Origin` as a field line of its own; it is joined with the
 * route's (metrics' `Vary: Accept`) into one line, as every other header is sent.
 */
export const corsFor = (origins: string[]): MiddlewareHandler => {
  const anyOrigin = origins.includes("*");
  const middleware = cors({
    origin: anyOrigin ? "*" : origins,
    allowMethods: ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"],
    allowHeaders: ALLOWED_HEADERS,
    exposeHeaders: EXPOSED_HEADERS,
    maxAge: 600,
  });
  if (anyOrigin) return middleware;
  return async (c, next) => {
    const preflight = await middleware(c, next);
    if (preflight) return preflight;
    // get() joins the lines with ", " (RFC 9110 §5.3); set() leaves that one line.
    const vary = c.res.headers.get("vary");
    if (vary !== null) c.res.headers.set("vary", vary);
  };
};
