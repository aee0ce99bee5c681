import type { Context } from "hono";
import { ifMatchVersions, noneMatchHits, parseTagList, strongETag } from "./etag.ts";

/**
 * The row versions the request's If-Match accepts ("*": any), or undefined without one. The
 * route's header schema has already refused a value that is not a tag list.
 */
export function ifMatchOf(c: Context): "*" | number[] | undefined {
  const header = c.req.header("If-Match");
  const list = header === undefined ? undefined : parseTagList(header);
  return list === undefined ? undefined : ifMatchVersions(list);
}

/**
 * Sets the ETag of `body` at row `version`; true when the request's If-None-Match names it, so
 * the handler answers 304 instead of the body (RFC 9110 §13.1.2, weak comparison).
 */
export async function tagAndCheckFresh(
  c: Context,
  version: number,
  body: unknown,
): Promise<boolean> {
  const etag = await strongETag(version, body);
  c.header("ETag", etag);
  const header = c.req.header("If-None-Match");
  const list = header === undefined ? undefined : parseTagList(header);
  return list !== undefined && noneMatchHits(list, etag);
}
