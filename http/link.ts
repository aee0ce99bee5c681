import type { Context } from "hono";

/**
 * `{ Link: <path?…&cursor=next>; rel="next" }` (RFC 8288) when there is a next page, else `{}`:
 * this request's own path and query with the cursor replaced, relative so it works behind a proxy.
 */
export function nextPageLink(c: Context, next: string | undefined): Record<string, string> {
  if (next === undefined) return {};
  const url = new URL(c.req.url);
  url.searchParams.set("cursor", next);
  return { Link: `<${url.pathname}${url.search}>; rel="next"` };
}
