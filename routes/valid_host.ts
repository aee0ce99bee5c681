import type { Context } from "hono";
import { problem } from "../http/problem.ts";
import type { AppEnv } from "../http/router.ts";

// RFC 9110 §7.2: Host = uri-host [ ":" port ], uri-host an IP-literal or a reg-name (RFC 3986
// §3.2.2) without percent-escapes. Deno builds the request URL from this header, and a '/', '?'
// or '#' in it would move where Hono reads the path and the query.
const HOST = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~!$&'()*+,;=]+)(?::[0-9]*)?$/;

/** A 400 naming Host when the request's Host header is not `host[:port]`, else undefined. */
export function hostRefusal(c: Context<AppEnv>): Response | undefined {
  const host = c.req.header("host");
  if (host === undefined || HOST.test(host)) return undefined;
  return problem(c, 400, "Check Host: it is not host[:port]", {
    errors: [{ path: "Host", message: "is not a host name or address with an optional port" }],
  });
}
