import { z } from "@hono/zod-openapi";

/** One RFC 9457 problem document, the only error shape capwatch answers with. */
export const Problem = z.object({
  type: z.string().openapi({ example: "about:blank" }),
  title: z.string().openapi({ example: "Invalid request" }),
  status: z.number().int().openapi({ example: 400 }),
  detail: z.string().openapi({ example: "Check name" }),
  instance: z.string().optional().openapi({ example: "/api/captures" }),
  requestId: z.string().optional().openapi({ description: "Quote it when reporting a problem" }),
  errors: z.array(z.object({
    path: z.string().openapi({ example: "name" }),
    message: z.string().openapi({ example: "Too small: expected string to have >=1 characters" }),
  })).optional().openapi({ description: "One entry per offending field" }),
}).openapi("Problem");

export type ProblemBody = z.infer<typeof Problem>;
