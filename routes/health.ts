import { createRoute, z } from "@hono/zod-openapi";
import { json } from "../openapi/helpers.ts";
import { createRouter } from "./router.ts";

const Health = z.object({
  status: z.enum(["ok", "unavailable"]).openapi({ example: "ok" }),
  database: z.enum(["ok", "unreachable"]).openapi({ example: "ok" }),
  schemaVersion: z.number().int().nullable().openapi({
    example: 1,
    description: "How many migrations the database has applied",
  }),
}).openapi("Health");

const health = createRoute({
  method: "get",
  path: "/health",
  tags: ["Operations"],
  operationId: "getHealth",
  summary: "Health check",
  description: "No authentication. Answers 503 when the database does not answer.",
  security: [],
  responses: {
    200: json(Health, "Healthy"),
    503: json(Health, "The database does not answer"),
  },
});

/** GET /health. */
export const healthRouter = () =>
  createRouter().openapi(health, async (c) => {
    try {
      const schemaVersion = await c.var.deps.pingDatabase();
      return c.json({ status: "ok" as const, database: "ok" as const, schemaVersion }, 200);
    } catch (error) {
      c.var.deps.logger.warn("health check failed", {
        requestId: c.var.requestId,
        error: String(error),
      });
      return c.json(
        { status: "unavailable" as const, database: "unreachable" as const, schemaVersion: null },
        503,
      );
    }
  });
