import type { Context, TypedResponse } from "hono";
import type { StatusCode } from "hono/utils/http-status";
import type { JSONParsed } from "hono/utils/types";
import type { AppEnv } from "./deps.ts";
import { isSafeHeaderValue } from "./safe_headers.ts";
import { SECURITY_HEADERS } from "./security_headers.ts";
import { markWhole } from "./whole_response.ts";

/**
 * Adds `headers` to whatever this request answers. For middleware before the handler (the rate
 * limit's state); it must still set them itself on an answer that is not whole.
 */
export function addAnswerHeaders(c: Context<AppEnv>, headers: Record<string, string>): void {
  const added = c.get("answerHeaders");
  c.set("answerHeaders", added ? { ...added, ...headers } : headers);
}

/**
 * The handler's answer with `status`, `body`, `headers` and `contentType`, plus X-Request-Id, the
 * security headers and any added by addAnswerHeaders(), built once. A value that is not a safe field value
 * (http/safe_headers.ts) is left out and its header's name logged, as the guard does.
 * The handler must not have called c.header(): Hono keeps those for its own responses only.
 */
function answer(
  c: Context<AppEnv>,
  body: string | null,
  status: StatusCode,
  headers: Record<string, string>,
  contentType?: string,
): Response {
  const all: Record<string, string> = {
    ...SECURITY_HEADERS,
    ...c.get("answerHeaders"),
    ...headers,
  };
  if (contentType !== undefined) all["Content-Type"] = contentType;
  all["X-Request-Id"] = c.get("requestId");
  let unsafe: string[] | undefined;
  for (const name in all) {
    if (!isSafeHeaderValue(all[name])) {
      (unsafe ??= []).push(name);
      delete all[name];
    }
  }
  if (unsafe) {
    c.get("deps").logger.warn("unsafe response header dropped", {
      requestId: c.get("requestId"),
      names: unsafe,
    });
  }
  // A plain record, not Headers: Deno copies a Headers init through its sorting iterator.
  return markWhole(new Response(body, { status, headers: all }));
}

const JSON_TYPE = "application/json";

/**
 * A JSON answer whose body is `text`, the JSON already made of a `T` (c.json's answer: body and
 * Content-Type), typed as c.json's so the route's contract still checks the handler.
 */
export function answerJsonText<T, S extends StatusCode = 200>(
  c: Context<AppEnv>,
  text: string,
  status: S = 200 as S,
  headers: Record<string, string> = {},
): Response & TypedResponse<JSONParsed<T>, S, "json"> {
  return answer(c, text, status, headers, JSON_TYPE) as
    & Response
    & TypedResponse<JSONParsed<T>, S, "json">;
}

/** answerJsonText() of `value` as JSON.stringify writes it. */
export function answerJson<T, S extends StatusCode = 200>(
  c: Context<AppEnv>,
  value: T,
  status: S = 200 as S,
  headers: Record<string, string> = {},
): Response & TypedResponse<JSONParsed<T>, S, "json"> {
  return answerJsonText<T, S>(c, JSON.stringify(value), status, headers);
}

/** An answer without a body (304, 204), typed as c.body(null, status)'s. */
export function answerEmpty<S extends StatusCode>(
  c: Context<AppEnv>,
  status: S,
  headers: Record<string, string> = {},
): Response & TypedResponse<null, S, "body"> {
  return answer(c, null, status, headers) as Response & TypedResponse<null, S, "body">;
}
