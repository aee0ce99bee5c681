import type { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { AppDeps } from "../../http/deps.ts";
import type { AppEnv } from "../../http/router.ts";
import type { MetricsDeps } from "../../metrics/capture_metrics.ts";
import { readCaptureMetricsFor, readCaptureMetricsJson } from "../../operations/captures.ts";
import type { MetricsQuery } from "../../openapi/schemas/metrics.ts";

/** The metrics query as its schema parses it: resolved types, a valid stat, period in seconds. */
export type ParsedMetricsQuery = z.output<typeof MetricsQuery>;

/** What the metrics operations need of the app's dependencies (roles through its provider). */
export const metricsDeps = (deps: AppDeps): MetricsDeps => ({
  db: deps.db,
  cloudwatch: deps.cloudwatch,
  serverCredentials: deps.config.awsCredentials,
  cipher: deps.credentialsCipher,
  credentials: deps.credentialProvider,
});

/**
 * Capture `id`'s metrics for the caller at `now` (operations/captures.ts readCaptureMetricsFor),
 * CloudWatch's remarks logged.
 */
export async function readMetrics(
  c: Context<AppEnv>,
  id: number,
  query: ParsedMetricsQuery,
  now: Date = c.get("deps").clock(),
) {
  return logged(c, id, await readCaptureMetricsFor(...operands(c, id, query), now));
}

/**
 * Capture `id`'s metrics as the JSON text of the answer (operations/captures.ts
 * readCaptureMetricsJson), CloudWatch's remarks logged.
 */
export async function readMetricsJson(
  c: Context<AppEnv>,
  id: number,
  query: ParsedMetricsQuery,
  now: Date,
) {
  return logged(c, id, await readCaptureMetricsJson(...operands(c, id, query), now));
}

/** The operations' leading arguments: dependencies, capture, caller and query. */
const operands = (c: Context<AppEnv>, id: number, { type, stat, period }: ParsedMetricsQuery) =>
  [metricsDeps(c.get("deps")), id, c.get("userId"), { types: type, stat, period }] as const;

/** `outcome`, its CloudWatch remarks logged when it succeeded. */
function logged<O extends { ok: true; messages: string[] } | { ok: false }>(
  c: Context<AppEnv>,
  id: number,
  outcome: O,
): O {
  if (outcome.ok) logCloudWatchMessages(c, id, outcome.messages);
  return outcome;
}

/** Logs CloudWatch's remarks (partial data, pages left unread): for operators, not the body. */
export function logCloudWatchMessages(c: Context<AppEnv>, captureId: number, messages: string[]) {
  if (messages.length === 0) return;
  c.get("deps").logger.warn("cloudwatch messages", {
    requestId: c.get("requestId"),
    captureId,
    messages,
  });
}
