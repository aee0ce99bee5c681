import type { Context } from "hono";
import type { Logger } from "../logger.ts";
import type { AppEnv } from "./deps.ts";
import { isWhole } from "./whole_response.ts";

// RFC 9110 §5.5 field-value narrowed to visible ASCII, SP and HTAB: no C0 control, DEL, CR/LF
// or obs-text. Deno's HTTP/1 writer panics (and the process exits) on a C0 control or DEL that
// Headers.set let through, so nothing else may reach it.
const SAFE_FIELD_VALUE = /^[\t\x20-\x7e]*$/;

/** True when `value` may be sent as a response header value as it is. */
export function isSafeHeaderValue(value: string): boolean {
  return SAFE_FIELD_VALUE.test(value);
}

/**
 * The last word on every response header, once everything else has set its own: drops any value
 * that is not a safe field value and logs the header's name (never its value), so a bad value
 * costs a header, not the process.
 */
export function guardResponseHeaders(c: Context<AppEnv>, logger: Logger): void {
  if (isWhole(c.res)) return; // its values were checked as it was built (http/answer.ts)
  // forEach, not the iterator: Deno's Headers iterator sorts the whole list again on every step.
  let names: Set<string> | undefined;
  c.res.headers.forEach((value, name) => {
    if (!isSafeHeaderValue(value)) (names ??= new Set()).add(name);
  });
  if (names === undefined) return;
  logger.warn("unsafe response header dropped", {
    requestId: c.get("requestId"),
    names: [...names],
  });
  // Rebuilt rather than edited: a response from fetch() has immutable headers.
  const headers = new Headers();
  for (const [name, value] of c.res.headers) {
    if (isSafeHeaderValue(value)) headers.append(name, value);
  }
  const { body, status, statusText } = c.res;
  c.res = undefined;
  c.res = new Response(body, { status, statusText, headers });
}
