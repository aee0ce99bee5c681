import type { Context } from "hono";
import { requestTarget } from "./request_target.ts";

/**
 * `{ Link: <path?…&cursor=next>; rel="next" }` (RFC 8288) when there is a next page, else `{}`:
 * this request's own path and query with the cursor replaced, relative so it works behind a proxy.
 */
export function nextPageLink(c: Context, next: string | undefined): Record<string, string> {
  if (next === undefined) return {};
  const url = requestTarget(c);
  url.searchParams.set("cursor", next);
  return { Link: `<${url.pathname}${url.search}>; rel="next"` };
}
