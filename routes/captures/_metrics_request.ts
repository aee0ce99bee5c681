import type { Context } from "hono";
import { findCaptureForMember } from "../../db/captures.ts";
import { findEnvironment } from "../../db/environments.ts";
import type { CaptureRow, EnvironmentRow } from "../../db/schema.ts";
import { METRIC_TYPES, type MetricType, resolveMetricType } from "../../metrics/catalogue.ts";
import type { MetricsOutcome } from "../../metrics/capture_metrics.ts";
import { isValidStat } from "../../metrics/period.ts";
import { checkFields, problem } from "../problem.ts";
import type { AppEnv } from "../router.ts";
import { captureNotFound } from "./_problems.ts";

type FieldError = { path: string; message: string };

/** The metric types and stat of a metrics query, or the errors naming each bad field. */
export function parseMetricsQuery(
  query: { type?: string[]; stat: string },
): { ok: true; types: MetricType[]; stat: string } | { ok: false; errors: FieldError[] } {
  const errors: FieldError[] = [];
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
  return errors.length > 0 ? { ok: false, errors } : { ok: true, types, stat };
}

/** The 400 naming each bad query field. */
export const queryProblem = (c: Context<AppEnv>, errors: FieldError[]) =>
  problem(c, 400, checkFields(errors.map((e) => e.path)), { errors });

// Stat names are case-sensitive at CloudWatch; accept "average" or "P99" as a courtesy.
function normaliseStat(stat: string): string {
  const named = ["Average", "Minimum", "Maximum", "Sum", "SampleCount"].find(
    (s) => s.toLowerCase() === stat.toLowerCase(),
  );
  return named ?? stat.replace(/^P/, "p");
}

/** A capture the caller may see, with its environment; undefined answers 404 for it. */
export async function findVisibleCapture(
  c: Context<AppEnv>,
  id: number,
): Promise<{ capture: CaptureRow; env: EnvironmentRow } | undefined> {
  const deps = c.var.deps;
  const found = await findCaptureForMember(deps.db, id, c.var.userId);
  const env = found && await findEnvironment(deps.db, found.capture.envId);
  return found && env ? { capture: found.capture, env } : undefined;
}

/** The 404 of a capture the caller cannot see. */
export const notVisible = captureNotFound;

/** Logs CloudWatch's remarks (partial data, pages left unread): for operators, not the body. */
export function logCloudWatchMessages(c: Context<AppEnv>, captureId: number, messages: string[]) {
  if (messages.length === 0) return;
  c.var.deps.logger.warn("cloudwatch messages", {
    requestId: c.var.requestId,
    captureId,
    messages,
  });
}

/**
 * The problem answering a failed metrics read: 400 naming the field, 409 for a capture without
 * metrics, 502/503/504 for CloudWatch trouble. `about` prefixes the detail ("Baseline capture 4: ").
 */
export function metricsFailure(
  c: Context<AppEnv>,
  outcome: Exclude<MetricsOutcome, { ok: true }>,
  about = "",
) {
  switch (outcome.kind) {
    case "invalid":
      return problem(c, 400, `Check ${outcome.field}: ${about}${outcome.message}`, {
        errors: [{ path: outcome.field, message: outcome.message }],
      });
    case "not_started":
    case "no_credentials":
    case "gone":
      return problem(c, 409, `${about}${outcome.message}`);
    case "upstream": {
      const { error } = outcome;
      // AWS's own text gets its code in front; ours ("CloudWatch did not answer…") names it.
      const upstream = error.code
        ? `CloudWatch ${error.code}: ${error.message}`
        : error.message.includes("CloudWatch")
        ? error.message
        : `CloudWatch: ${error.message}`;
      if (error.kind === "throttled") {
        return problem(c, 503, `${about}${upstream}. Retry later.`, {
          headers: { "Retry-After": String(error.retryAfterSeconds ?? 5) },
        });
      }
      if (error.kind === "timeout") return problem(c, 504, `${about}${upstream}. Retry later.`);
      return problem(c, 502, `${about}${upstream}`);
    }
  }
}
