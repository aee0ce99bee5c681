import { createRoute, z } from "@hono/zod-openapi";
import { json } from "../openapi/helpers.ts";
import { createRouter } from "../http/router.ts";

const Health = z.object({
  status: z.enum(["ok", "unavailable", "shutting_down"]).openapi({
    example: "ok",
    description: "`unavailable` when the database does not answer; `shutting_down` after SIGTERM",
  }),
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
  description:
    "No authentication. Answers 503 when the database does not answer, and while the process " +
    "is shutting down (so a load balancer stops sending it requests).",
  security: [],
  responses: {
    200: json(Health, "Healthy"),
    503: json(Health, "The database does not answer, or the process is shutting down"),
  },
});

/** GET /health. */
export const healthRouter = () =>
  createRouter().openapi(health, async (c) => {
    const { deps } = c.var;
    let database: { database: "ok" | "unreachable"; schemaVersion: number | null };
    try {
      database = { database: "ok", schemaVersion: await deps.pingDatabase() };
    } catch (error) {
      deps.logger.warn("health check failed", {
        requestId: c.get("requestId"),
        error: error instanceof Error ? error.message : String(error),
      });
      database = { database: "unreachable", schemaVersion: null };
    }
    if (deps.isShuttingDown?.()) {
      return c.json({ status: "shutting_down" as const, ...database }, 503);
    }
    if (database.database === "unreachable") {
      return c.json({ status: "unavailable" as const, ...database }, 503);
    }
    return c.json({ status: "ok" as const, ...database }, 200);
  });
