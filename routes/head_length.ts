import type { Context } from "hono";
import type { AppEnv } from "../http/router.ts";

/**
 * Gives a HEAD answer the Content-Length its GET would have (RFC 9110 §9.3.2). Hono answers HEAD
 * by running the GET route and dropping the body, and Deno then writes `Content-Length: 0`.
 * Call after the route has answered.
 */
export async function headContentLength(c: Context<AppEnv>): Promise<void> {
  if (c.req.method !== "HEAD" || !c.res.body || c.res.headers.has("content-length")) return;
  const length = (await c.res.arrayBuffer()).byteLength;
  const { status, statusText, headers } = c.res;
  const answer = new Response(null, { status, statusText, headers });
  answer.headers.set("Content-Length", String(length));
  c.res = undefined;
  c.res = answer;
}
