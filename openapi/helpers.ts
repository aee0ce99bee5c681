import type { z } from "@hono/zod-openapi";
import { Problem } from "./schemas/problem.ts";

const problemTitles = {
  400: "Invalid request",
  401: "Authentication required",
  403: "Forbidden",
  404: "Not found",
  409: "Conflict",
  413: "Request body too large",
  415: "Unsupported media type",
  502: "Bad answer from CloudWatch",
  503: "Service unavailable",
  504: "CloudWatch timed out",
} as const;

type ProblemStatus = keyof typeof problemTitles;

/** A JSON response declaration. */
export const json = <T extends z.ZodType>(schema: T, description: string) => ({
  content: { "application/json": { schema } },
  description,
});

/** A required JSON request body, so a request without the content type is still validated. */
export const jsonBody = <T extends z.ZodType>(schema: T, description: string) => ({
  content: { "application/json": { schema } },
  description,
  required: true,
});

/** Declares the problem+json responses a route can give. */
export function problems<S extends ProblemStatus>(...statuses: S[]) {
  return Object.fromEntries(statuses.map((status) => [status, {
    content: { "application/problem+json": { schema: Problem } },
    description: problemTitles[status],
  }])) as unknown as Record<
    S,
    { content: { "application/problem+json": { schema: typeof Problem } }; description: string }
  >;
}
