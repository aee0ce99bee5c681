import type { AppRouteHandler } from "../../http/router.ts";
import { CSV_MEDIA_TYPE, metricsCsv } from "../../metrics/csv.ts";
import { refusalProblem } from "../refusal.ts";
import { readMetrics } from "./_metrics_request.ts";
import { wantsCsv } from "./_representation.ts";
import type * as routes from "./routes.ts";

export const metrics: AppRouteHandler<typeof routes.metrics> = async (c) => {
  const outcome = await readMetrics(c, c.req.valid("param").id, c.req.valid("query"));
  if (!outcome.ok) return refusalProblem(c, outcome);
  c.header("Vary", "Accept");
  if (wantsCsv(c)) {
    return c.body(metricsCsv(outcome.metrics), 200, { "Content-Type": CSV_MEDIA_TYPE });
  }
  return c.json(outcome.metrics, 200);
};
