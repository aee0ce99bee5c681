import type { AppRouteHandler } from "../../http/router.ts";
import type { CaptureMetrics } from "../../metrics/capture_metrics.ts";
import { answerJsonText } from "../../http/answer.ts";
import { refusalProblem } from "../refusal.ts";
import { readMetrics, readMetricsJson } from "./_metrics_request.ts";
import { wantsCsv } from "./_representation.ts";
import type * as routes from "./routes.ts";

// JSON is the operation's text (a settled snapshot answer comes from its cache); CSV is made afresh.
export const metrics: AppRouteHandler<typeof routes.metrics> = async (c) => {
  const id = c.req.valid("param").id;
  const query = c.req.valid("query");
  const now = c.get("deps").clock();
  if (wantsCsv(c)) {
    const outcome = await readMetrics(c, id, query, now);
    if (!outcome.ok) return refusalProblem(c, outcome);
    // The CSV writer loads with the first CSV asked for, not at every start (compare_handler.ts).
    const { CSV_MEDIA_TYPE, metricsCsv } = await import("../../metrics/csv.ts");
    c.header("Vary", "Accept");
    return c.body(metricsCsv(outcome.metrics), 200, { "Content-Type": CSV_MEDIA_TYPE });
  }
  const outcome = await readMetricsJson(c, id, query, now);
  if (!outcome.ok) return refusalProblem(c, outcome);
  return answerJsonText<CaptureMetrics>(c, outcome.body, 200, { Vary: "Accept" });
};
