import { z } from "@hono/zod-openapi";
import { PROBLEM_KINDS, type ProblemKind, problemType } from "../problem_types.ts";

const KIND_LIST = (Object.keys(PROBLEM_KINDS) as ProblemKind[]).map((kind) =>
  `\`${problemType(kind)}\` (${PROBLEM_KINDS[kind].status})`
).join(", ");

/** One RFC 9457 problem document, the only error shape capwatch answers with. */
export const Problem = z.object({
  type: z.string().openapi({
    description:
      `What kind of problem this is; switch on it rather than on the text. A URI reference relative to this server (RFC 9457 §3.1.1): the same string on every deployment, and GET on it (resolved against the request's URL) answers a short explanation. One of: ${KIND_LIST}.`,
    example: "/problems/validation",
  }),
  title: z.string().openapi({ example: "Invalid request" }),
  status: z.number().int().openapi({ example: 400 }),
  detail: z.string().openapi({ example: "Check name" }),
  instance: z.string().optional().openapi({ example: "/api/captures" }),
  requestId: z.string().optional().openapi({
    description: "Quote it when reporting a problem",
    example: "5f0c6e1e-3c1a-4a4b-9a51-3f1f0f5d2b7e",
  }),
  errors: z.array(z.object({
    path: z.string().openapi({ example: "name" }),
    message: z.string().openapi({ example: "Too small: expected string to have >=1 characters" }),
  })).max(20).optional().openapi({
    description: "One entry per offending field, at most 20; moreErrors counts the rest",
  }),
  moreErrors: z.number().int().min(1).optional().openapi({
    description: "How many offending fields errors[] leaves out (present only when it does)",
    example: 89980,
  }),
}).openapi("Problem", {
  example: {
    type: "/problems/validation",
    title: "Invalid request",
    status: 400,
    detail: "Check name",
    instance: "/api/captures",
    requestId: "5f0c6e1e-3c1a-4a4b-9a51-3f1f0f5d2b7e",
    errors: [{ path: "name", message: "Too small: expected string to have >=1 characters" }],
  },
});

export type ProblemBody = z.infer<typeof Problem>;

/** The title of each status capwatch answers with a problem, in responses and in the document. */
export const PROBLEM_TITLES = {
  400: "Invalid request",
  401: "Authentication required",
  403: "Forbidden",
  404: "Not found",
  405: "Method not allowed",
  408: "Request timeout",
  409: "Conflict",
  412: "Precondition failed",
  413: "Request body too large",
  415: "Unsupported media type",
  422: "Unprocessable request",
  429: "Too many requests",
  500: "Internal server error",
  502: "Bad answer from AWS",
  503: "Service unavailable",
  504: "AWS timed out",
} as const;
