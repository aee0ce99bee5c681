import type { RouteHandler } from "@hono/zod-openapi";
import { readCaptureMetrics } from "../../metrics/capture_metrics.ts";
import { CSV_MEDIA_TYPE, metricsCsv } from "../../metrics/csv.ts";
import type { AppEnv } from "../router.ts";
import {
  findVisibleCapture,
  logCloudWatchMessages,
  metricsFailure,
  notVisible,
  parseMetricsQuery,
  queryProblem,
} from "./_metrics_request.ts";
import { wantsCsv } from "./_representation.ts";
import type * as routes from "./routes.ts";

export const metrics: RouteHandler<typeof routes.metrics, AppEnv> = async (c) => {
  const deps = c.var.deps;
  const { id } = c.req.valid("param");
  const query = c.req.valid("query");
  const now = deps.clock();

  const parsed = parseMetricsQuery(query);
  if (!parsed.ok) return queryProblem(c, parsed.errors);
  const found = await findVisibleCapture(c, id);
  if (!found) return notVisible(c, id);
  const outcome = await readCaptureMetrics(
    {
      db: deps.db,
      cloudwatch: deps.cloudwatch,
      serverCredentials: deps.config.awsCredentials,
      cipher: deps.credentialsCipher,
    },
    found.capture,
    found.env,
    { types: parsed.types, stat: parsed.stat, period: query.period },
    now,
  );
  if (!outcome.ok) return metricsFailure(c, outcome);
  logCloudWatchMessages(c, id, outcome.messages);
  c.header("Vary", "Accept");
  if (wantsCsv(c)) {
    return c.body(metricsCsv(outcome.metrics), 200, { "Content-Type": CSV_MEDIA_TYPE });
  }
  return c.json(outcome.metrics, 200);
};
