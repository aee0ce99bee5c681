import type { Context } from "hono";

// The host part of a request URL comes from the client's Host header; only its path and query
// are capwatch's to read, so they are parsed against a fixed base that cannot fail to parse.
const BASE = "http://capwatch.invalid";

/** The request's path and query as a URL on a fixed host (what `new URL(c.req.url)` is, minus the Host). */
export function requestTarget(c: Context): URL {
  const url = c.req.url;
  const start = url.indexOf("/", url.indexOf("://") + 3);
  return new URL(start === -1 ? "/" : url.slice(start), BASE);
}
