import { type Context, Hono } from "hono";
import { secureHeaders } from "hono/secure-headers";
import type { AppEnv } from "./deps.ts";
import { isWhole } from "./whole_response.ts";

/**
 * Headers every API answer carries (Hono's secure-headers): no MIME sniffing, no referrer. The
 * rest of its defaults are for pages, and Cross-Origin-Resource-Policy would block API clients on
 * other origins; /docs adds its own stricter set (routes/docs.ts).
 */
const apiSecureHeaders = secureHeaders({
  xContentTypeOptions: true,
  referrerPolicy: true,
  crossOriginResourcePolicy: false,
  crossOriginOpenerPolicy: false,
  crossOriginEmbedderPolicy: false,
  originAgentCluster: false,
  strictTransportSecurity: false,
  xDnsPrefetchControl: false,
  xDownloadOptions: false,
  xFrameOptions: false,
  xPermittedCrossDomainPolicies: false,
  xXssProtection: false,
});

/**
 * What apiSecureHeaders sets, as a record, read off one answer of the middleware itself so the
 * answers http/answer.ts builds whole carry exactly its headers.
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze(
  Object.fromEntries(
    (await new Hono().use(apiSecureHeaders).get("/", (c) => c.body(null)).request("/")).headers,
  ),
);

/**
 * apiSecureHeaders' headers on an answer not built whole, once the route has answered (those built
 * whole have them already, and touching their headers would cost Deno's prepared response). It
 * has no per-request values (no CSP nonce), so running it after the route is the same as around it.
 */
export async function addSecurityHeaders(c: Context<AppEnv>): Promise<void> {
  if (!isWhole(c.res)) await apiSecureHeaders(c, () => Promise.resolve());
}
