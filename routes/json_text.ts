import type { Context, TypedResponse } from "hono";
import type { JSONParsed } from "hono/utils/types";

const JSON_TYPE = { "Content-Type": "application/json" };

/**
 * A 200 whose body is `text`, the JSON already made of a `T`: the same answer c.json(value, 200)
 * gives (body, Content-Type), typed as it so the route's contract still checks the handler.
 */
export function jsonText<T>(
  c: Context,
  text: string,
): Response & TypedResponse<JSONParsed<T>, 200, "json"> {
  return c.body(text, 200, JSON_TYPE) as unknown as
    & Response
    & TypedResponse<JSONParsed<T>, 200, "json">;
}
