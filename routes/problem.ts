import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { PROBLEM_TITLES, type ProblemBody } from "../openapi/schemas/problem.ts";
import { isSafeHeaderValue } from "./safe_headers.ts";

/** Answers an RFC 9457 problem document with the given status. */
export function problem<S extends ContentfulStatusCode>(
  c: Context,
  status: S,
  detail: string,
  extra: { errors?: ProblemBody["errors"]; headers?: Record<string, string>; title?: string } = {},
) {
  const body: ProblemBody = {
    type: "about:blank",
    title: extra.title ?? (PROBLEM_TITLES as Record<number, string>)[status] ?? "Error",
    status,
    detail,
    instance: c.req.path,
    requestId: c.get("requestId"),
    ...(extra.errors ? { errors: extra.errors } : {}),
  };
  // An unsafe value would make Headers throw and turn this answer into a 500; it is left out.
  const headers = Object.fromEntries(
    Object.entries(extra.headers ?? {}).filter(([, value]) => isSafeHeaderValue(value)),
  );
  return c.json(body, status, { ...headers, "Content-Type": "application/problem+json" });
}
