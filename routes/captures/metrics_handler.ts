import { findCaptureForMember } from "../../db/captures.ts";
import { findEnvironment } from "../../db/environments.ts";
import { METRIC_TYPES, type MetricType, resolveMetricType } from "../../metrics/catalogue.ts";
import { readCaptureMetrics } from "../../metrics/capture_metrics.ts";
import { isValidStat } from "../../metrics/period.ts";
import { checkFields, problem } from "../../http/problem.ts";
import { captureNotFound } from "./_problems.ts";
import type { AppRouteHandler } from "../../http/router.ts";
import type * as routes from "./routes.ts";

export const metrics: AppRouteHandler<typeof routes.metrics> = async (c) => {
  const deps = c.var.deps;
  const { id } = c.req.valid("param");
  const query = c.req.valid("query");
  const now = deps.clock();

  const errors: { path: string; message: string }[] = [];
  const types: MetricType[] = [];
  for (const [index, name] of (query.type ?? [...METRIC_TYPES]).entries()) {
    const type = resolveMetricType(name);
    if (type) {
      if (!types.includes(type)) types.push(type);
    } else {
      errors.push({
        path: `type.${index}`,
        message: `"${name}" is not a known metric; use one of ${METRIC_TYPES.join(", ")}`,
      });
    }
  }
  const stat = normaliseStat(query.stat);
  if (!isValidStat(stat)) {
    errors.push({
      path: "stat",
      message: "must be Average, Minimum, Maximum, Sum, SampleCount or a percentile such as p99",
    });
  }
  if (errors.length > 0) {
    return problem(c, 400, checkFields(errors.map((e) => e.path)), { errors });
  }

  const found = await findCaptureForMember(deps.db, id, c.var.userId);
  const env = found && await findEnvironment(deps.db, found.capture.envId);
  if (!found || !env) {
    return captureNotFound(c, id);
  }
  const outcome = await readCaptureMetrics(
    {
      db: deps.db,
      cloudwatch: deps.cloudwatch,
      serverCredentials: deps.config.awsCredentials,
      cipher: deps.credentialsCipher,
    },
    found.capture,
    env,
    { types, stat, period: query.period },
    now,
  );
  if (outcome.ok) {
    // CloudWatch's remarks (partial data, pages left unread) are for operators, not the body.
    if (outcome.messages.length > 0) {
      deps.logger.warn("cloudwatch messages", {
        requestId: c.var.requestId,
        captureId: id,
        messages: outcome.messages,
      });
    }
    return c.json(outcome.metrics, 200);
  }
  switch (outcome.kind) {
    case "invalid":
      return problem(c, 400, `Check ${outcome.field}: ${outcome.message}`, {
        errors: [{ path: outcome.field, message: outcome.message }],
      });
    case "not_started":
    case "no_credentials":
    case "gone":
      return problem(c, 409, outcome.message);
    case "upstream": {
      const { error } = outcome;
      // AWS's own text gets its code in front; ours ("CloudWatch did not answer…") names it.
      const upstream = error.code
        ? `CloudWatch ${error.code}: ${error.message}`
        : error.message.includes("CloudWatch")
        ? error.message
        : `CloudWatch: ${error.message}`;
      if (error.kind === "throttled") {
        return problem(c, 503, `${upstream}. Retry later.`, {
          headers: { "Retry-After": String(error.retryAfterSeconds ?? 5) },
        });
      }
      if (error.kind === "timeout") return problem(c, 504, `${upstream}. Retry later.`);
      return problem(c, 502, upstream);
    }
  }
};

// Stat names are case-sensitive at CloudWatch; accept "average" or "P99" as a courtesy.
function normaliseStat(stat: string): string {
  const named = ["Average", "Minimum", "Maximum", "Sum", "SampleCount"].find(
    (s) => s.toLowerCase() === stat.toLowerCase(),
  );
  return named ?? stat.replace(/^P/, "p");
}
