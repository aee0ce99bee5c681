import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { PROBLEM_TITLES, type ProblemBody } from "../openapi/schemas/problem.ts";

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
  return c.json(body, status, {
    ...extra.headers,
    "Content-Type": "application/problem+json",
  });
}
