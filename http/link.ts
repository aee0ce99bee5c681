import type { Context } from "hono";

/**
 * Sets `Link: <path?…&cursor=next>; rel="next"` (RFC 8288) when there is a next page: this
 * request's own path and query with the cursor replaced, relative so it works behind a proxy.
 */
export function linkNextPage(c: Context, next: string | undefined): void {
  if (next === undefined) return;
  const url = new URL(c.req.url);
  url.searchParams.set("cursor", next);
  c.header("Link", `<${url.pathname}${url.search}>; rel="next"`);
}
