import type { AppRouteHandler } from "../../http/router.ts";
import { type CaptureMetrics, keyWindowMatches } from "../../metrics/capture_metrics.ts";
import { CSV_MEDIA_TYPE, metricsCsv } from "../../metrics/csv.ts";
import { snapshotAnswerCacheOf } from "../../metrics/snapshot_cache.ts";
import { probeCaptureMetrics } from "../../operations/captures.ts";
import { jsonText } from "../json_text.ts";
import { refusalProblem } from "../refusal.ts";
import { readMetrics } from "./_metrics_request.ts";
import { wantsCsv } from "./_representation.ts";
import type * as routes from "./routes.ts";

// A stored snapshot answer is sent as the JSON text first made of it (snapshotAnswerCacheOf):
// stringifying its points was most of a snapshot read. The access check (probe) runs every time;
// CSV is made afresh, as before.
export const metrics: AppRouteHandler<typeof routes.metrics> = async (c) => {
  const id = c.req.valid("param").id;
  const query = c.req.valid("query");
  const deps = c.get("deps");
  const now = deps.clock();
  if (wantsCsv(c)) {
    const outcome = await readMetrics(c, id, query, now);
    if (!outcome.ok) return refusalProblem(c, outcome);
    c.header("Vary", "Accept");
    return c.body(metricsCsv(outcome.metrics), 200, { "Content-Type": CSV_MEDIA_TYPE });
  }
  const found = await probeCaptureMetrics(
    deps.db,
    id,
    c.get("userId"),
    { types: query.type, stat: query.stat, period: query.period },
    now.getTime(),
  );
  if (!found.ok) return refusalProblem(c, found);
  const { probe, key } = found;
  const bodies = snapshotAnswerCacheOf(deps.db);
  if (key !== undefined) {
    const body = bodies.get(key);
    if (body !== undefined) {
      c.header("Vary", "Accept");
      return jsonText<CaptureMetrics>(c, body);
    }
  }
  const outcome = await readMetrics(c, id, query, now);
  if (!outcome.ok) return refusalProblem(c, outcome);
  c.header("Vary", "Accept");
  const body = JSON.stringify(outcome.metrics);
  if (
    key !== undefined && outcome.stored &&
    keyWindowMatches(outcome.metrics, probe, now.getTime())
  ) bodies.set(key, body, body.length);
  return jsonText<CaptureMetrics>(c, body);
};
