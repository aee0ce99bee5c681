import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { ProblemBody } from "../openapi/schemas/problem.ts";

const titles: Record<number, string> = {
  400: "Invalid request",
  401: "Authentication required",
  403: "Forbidden",
  404: "Not found",
  405: "Method not allowed",
  409: "Conflict",
  413: "Request body too large",
  415: "Unsupported media type",
  500: "Internal server error",
  502: "Bad answer from CloudWatch",
  503: "Service unavailable",
  504: "CloudWatch timed out",
};

/** Answers an RFC 9457 problem document with the given status. */
export function problem<S extends ContentfulStatusCode>(
  c: Context,
  status: S,
  detail: string,
  extra: { errors?: ProblemBody["errors"]; headers?: Record<string, string>; title?: string } = {},
) {
  const body: ProblemBody = {
    type: "about:blank",
    title: extra.title ?? titles[status] ?? "Error",
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
