import type { CredentialsCipher } from "../auth/credentials_cipher.ts";
import type { AwsCredentials } from "../config.ts";
import type { Database } from "../db/client.ts";
import type { CaptureRow, EnvironmentRow } from "../db/schema.ts";
import { findSnapshot } from "../db/snapshots.ts";
import { statusAt } from "../lifecycle/status.ts";
import type { MetricType } from "./catalogue.ts";
import { type CloudWatchClient, CloudWatchError, type MetricSeries } from "./cloudwatch.ts";
import { resolveCredentials } from "./credentials.ts";
import { alignWindow, choosePeriod } from "./period.ts";
import { isSnapshotStat, seriesFromSnapshot, type SnapshotPayload } from "./snapshot_series.ts";

export interface MetricsDeps {
  db: Database;
  cloudwatch: CloudWatchClient;
  serverCredentials?: AwsCredentials;
  cipher?: CredentialsCipher;
}

export interface MetricsQuery {
  types: MetricType[];
  stat: string;
  period?: number;
}

/** The body of GET /api/captures/{id}/metrics. */
export interface CaptureMetrics {
  captureId: number;
  start: string;
  end: string;
  period: number;
  stat: string;
  source: "cloudwatch" | "snapshot";
  complete: boolean;
  series: MetricSeries[];
}

export type MetricsOutcome =
  | { ok: true; metrics: CaptureMetrics }
  | { ok: false; kind: "invalid"; field: string; message: string }
  | { ok: false; kind: "not_started" | "no_credentials"; message: string }
  | { ok: false; kind: "upstream"; error: CloudWatchError };

/**
 * A capture's metrics over its window: from its stored snapshot when that can answer (no AWS
 * call), otherwise one GetMetricData call for every requested series.
 */
export async function readCaptureMetrics(
  deps: MetricsDeps,
  capture: CaptureRow,
  env: EnvironmentRow,
  query: MetricsQuery,
  now: Date,
): Promise<MetricsOutcome> {
  const current = statusAt(capture, now.getTime());
  if (current.status === "SCHEDULED" || current.start === null) {
    return {
      ok: false,
      kind: "not_started",
      message: `Capture ${capture.id} is SCHEDULED; its metrics exist once it starts at ${
        new Date(capture.scheduledStart!).toISOString()
      }`,
    };
  }
  const start = new Date(current.start);
  const end = new Date(current.end ?? now.getTime());
  const finished = current.end !== null;

  if (finished && isSnapshotStat(query.stat)) {
    const snapshot = await findSnapshot(deps.db, capture.id);
    if (snapshot) {
      // A snapshot is full resolution, so any multiple of its period can be served from it.
      const choice = choosePeriod({ start, end, now: start, requested: query.period });
      if (!choice.ok) {
        return { ok: false, kind: "invalid", field: "period", message: choice.message };
      }
      if (choice.period % snapshot.period === 0) {
        const payload = JSON.parse(snapshot.payload) as SnapshotPayload;
        return {
          ok: true,
          metrics: {
            captureId: capture.id,
            start: start.toISOString(),
            end: end.toISOString(),
            period: choice.period,
            stat: query.stat,
            source: "snapshot",
            complete: payload.complete,
            series: seriesFromSnapshot(payload, query.stat, query.types, choice.period),
          },
        };
      }
    }
  }

  const choice = choosePeriod({ start, end, now, requested: query.period });
  if (!choice.ok) return { ok: false, kind: "invalid", field: "period", message: choice.message };
  const resolved = await resolveCredentials(env, deps.serverCredentials, deps.cipher);
  if (!resolved.ok) return { ok: false, kind: "no_credentials", message: resolved.message };
  try {
    const result = await deps.cloudwatch.getMetricData({
      region: env.region,
      credentials: resolved.credentials,
      dbInstanceIdentifier: env.dbInstanceIdentifier,
      metrics: query.types,
      stat: query.stat,
      period: choice.period,
      ...alignWindow(start, end, choice.period),
    });
    return {
      ok: true,
      metrics: {
        captureId: capture.id,
        start: start.toISOString(),
        end: end.toISOString(),
        period: choice.period,
        stat: query.stat,
        source: "cloudwatch",
        complete: finished && result.complete,
        // A running window is still growing, so none of its series is complete yet.
        series: result.series.map((s) => ({ ...s, complete: finished && s.complete })),
      },
    };
  } catch (error) {
    if (error instanceof CloudWatchError) return { ok: false, kind: "upstream", error };
    throw error;
  }
}
