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
 * allowed and exposed. No credentials: capwatch reads bearer tokens, never cookies.
 */
export const corsFor = (origins: string[]) =>
  cors({
    origin: origins.includes("*") ? "*" : origins,
    allowMethods: ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"],
    allowHeaders: ALLOWED_HEADERS,
    exposeHeaders: EXPOSED_HEADERS,
    maxAge: 600,
  });
