import type { CredentialsCipher } from "../auth/credentials_cipher.ts";
import type { Database } from "../db/client.ts";
import type { CaptureRow, EnvironmentRow } from "../db/schema.ts";
import { findSnapshotHeader } from "../db/snapshots.ts";
import { type CaptureTimes, statusAt } from "../lifecycle/status.ts";
import type { MetricType } from "./catalogue.ts";
import {
  type AwsCredentials,
  type CloudWatchClient,
  CloudWatchError,
  type MetricSeries,
} from "./cloudwatch.ts";
import { type CredentialProvider, staticCredentialProvider } from "./credentials.ts";
import { alignWindow, choosePeriod, startRounding } from "./period.ts";
import { emptySeries, isSnapshotStat, seriesFromSnapshot } from "./snapshot_series.ts";
import type { MetricsSource } from "../vocabulary.ts";

/** How long after a window ends CloudWatch may still be adding its last points. */
export const SETTLE_MS = 5 * 60_000;

export interface MetricsDeps {
  db: Database;
  cloudwatch: CloudWatchClient;
  serverCredentials?: AwsCredentials;
  cipher?: CredentialsCipher;
  /** The process's provider (roles, web identity, caching); else one over the two above. */
  credentials?: CredentialProvider;
}

/** The provider `deps` names, or one over its static keys and cipher. */
export function credentialProviderOf(deps: MetricsDeps): CredentialProvider {
  return deps.credentials ?? staticCredentialProvider(deps.serverCredentials, deps.cipher);
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
  /** snapshot: the answer's period came from the stored snapshot (series may say otherwise). */
  source: MetricsSource;
  complete: boolean;
  series: AnsweredSeries[];
}

/**
 * A series of an answer. A snapshot answer's series that the snapshot lacked (it predates the
 * metric) and CloudWatch answered say `source: "cloudwatch"`, and their `period` when CloudWatch
 * no longer keeps the snapshot's.
 */
export type AnsweredSeries = MetricSeries & { source?: MetricsSource; period?: number };

/** True when no part of `metrics` came from CloudWatch: a stored, unchanging answer. */
export const fromSnapshotOnly = (metrics: CaptureMetrics): boolean =>
  metrics.source === "snapshot" && metrics.series.every((s) => s.source !== "cloudwatch");

/**
 * `messages` are CloudWatch's own remarks on the answer (already redacted), worth a warning;
 * `stored` is true when the stored snapshot alone answered (no CloudWatch call, not even a failed
 * one), so the same request answers the same for as long as the capture and its snapshot stand.
 */
export type MetricsOutcome =
  | { ok: true; metrics: CaptureMetrics; messages: string[]; stored: boolean }
  | { ok: false; kind: "invalid"; field: string; message: string }
  | { ok: false; kind: "not_started" | "no_credentials" | "gone"; message: string }
  | { ok: false; kind: "upstream"; error: CloudWatchError };

/**
 * A capture's metrics over its window: from its stored snapshot when that can answer (no AWS
 * call; a series the snapshot lacks from one GetMetricData call for just those), otherwise one
 * GetMetricData call for every requested series.
 */
export async function readCaptureMetrics(
  deps: MetricsDeps,
  capture: CaptureRow,
  env: EnvironmentRow,
  query: MetricsQuery,
  now: Date,
): Promise<MetricsOutcome> {
  const current = statusAt(capture, now.getTime());
  if (current.status === "SCHEDULED") {
    return {
      ok: false,
      kind: "not_started",
      message: `Capture ${capture.id} is SCHEDULED; its metrics exist once it starts at ${
        new Date(capture.scheduledStart!).toISOString()
      }`,
    };
  }
  if (current.start === null) {
    return {
      ok: false,
      kind: "not_started",
      message: `Capture ${capture.id} is ${current.status} and never started; it has no metrics`,
    };
  }
  const start = new Date(current.start);
  const end = new Date(current.end ?? now.getTime());
  // CloudWatch needs a few minutes after a window ends before its last points are in.
  const settled = current.end !== null && now.getTime() - current.end >= SETTLE_MS;
  const answer = (
    source: CaptureMetrics["source"],
    period: number,
    complete: boolean,
    series: AnsweredSeries[],
    messages: string[] = [],
    stored = false,
  ): MetricsOutcome => ({
    ok: true,
    messages,
    stored,
    metrics: {
      captureId: capture.id,
      start: start.toISOString(),
      end: end.toISOString(),
      period,
      stat: query.stat,
      source,
      complete: settled && complete,
      // A window that is still growing or settling has no complete series yet.
      series: series.map((s) => ({ ...s, complete: settled && s.complete })),
    },
  });

  if (current.end !== null && isSnapshotStat(query.stat)) {
    // Read afresh every time (one indexed row): its takenAt names the snapshot the cached series
    // belong to, so a snapshot stored anew by another process is never answered from the old one.
    const snapshot = await findSnapshotHeader(deps.db, capture.id);
    if (snapshot) {
      // A snapshot is full resolution, so any multiple of its period can be served from it.
      const choice = choosePeriod({ start, end, now: start, requested: query.period });
      if (!choice.ok) {
        return { ok: false, kind: "invalid", field: "period", message: choice.message };
      }
      const { period } = choice;
      if (period % snapshot.period === 0) {
        // Buckets count from the window's start, like CloudWatch's periods from its StartTime.
        const { startTime } = alignWindow(start, end, period);
        const held = await seriesFromSnapshot(
          deps.db,
          { captureId: capture.id, takenAt: snapshot.takenAt },
          query.stat,
          query.types,
          period,
          startTime,
        );
        if (held.lacking.length === 0) {
          return answer("snapshot", period, snapshot.complete, held.series, [], true);
        }
        // Taken before the catalogue grew: the snapshot answers what it holds, CloudWatch the rest.
        const rest = await readLacking(
          deps,
          env,
          query.stat,
          held.lacking,
          start,
          end,
          period,
          now,
        );
        const byType = new Map(rest.series.map((s) => [s.type, s]));
        const series = held.series.map((s) => byType.get(s.type) ?? s);
        return answer(
          "snapshot",
          period,
          snapshot.complete && rest.complete,
          series,
          rest.messages,
        );
      }
    }
  }

  const choice = choosePeriod({ start, end, now, requested: query.period });
  if (!choice.ok) {
    // A window CloudWatch has dropped is gone whatever period was asked for.
    return choice.gone
      ? { ok: false, kind: "gone", message: choice.message }
      : { ok: false, kind: "invalid", field: "period", message: choice.message };
  }
  const resolved = await credentialProviderOf(deps).resolve(env);
  if (!resolved.ok) {
    return resolved.error
      ? { ok: false, kind: "upstream", error: resolved.error }
      : { ok: false, kind: "no_credentials", message: resolved.message };
  }
  try {
    const result = await deps.cloudwatch.getMetricData({
      region: env.region,
      credentials: resolved.credentials,
      dbInstanceIdentifier: env.dbInstanceIdentifier,
      metrics: query.types,
      stat: query.stat,
      period: choice.period,
      ...alignWindow(start, end, choice.period, now),
    });
    const series = result.series.map((s) => withinWindow(s, start, end));
    return answer("cloudwatch", choice.period, result.complete, series, result.messages);
  } catch (error) {
    if (error instanceof CloudWatchError) return { ok: false, kind: "upstream", error };
    throw error;
  }
}

/**
 * The series a snapshot lacks, from one GetMetricData call for just them: at the snapshot
 * answer's `period` while CloudWatch still keeps that resolution, else at the finest it keeps
 * (those series carry their own `period`). Each is marked `source: "cloudwatch"`. When CloudWatch
 * has dropped the window or cannot answer, they come back empty and incomplete, with a message
 * saying why, never a refusal: the snapshot's own series still answer.
 */
async function readLacking(
  deps: MetricsDeps,
  env: EnvironmentRow,
  stat: string,
  types: MetricType[],
  start: Date,
  end: Date,
  period: number,
  now: Date,
): Promise<{ series: AnsweredSeries[]; complete: boolean; messages: string[] }> {
  const unanswered = (why: string) => ({
    series: types.map(emptySeries),
    complete: false,
    messages: [`${types.join(", ")}: not in the capture's snapshot, and ${why}`],
  });
  let choice = choosePeriod({ start, end, now, requested: period });
  if (!choice.ok && !choice.gone) {
    // Coarser than the snapshot: the smallest multiple of what CloudWatch still keeps.
    const multiple = startRounding(start, now);
    choice = choosePeriod({ start, end, now, requested: Math.ceil(period / multiple) * multiple });
    if (!choice.ok) choice = choosePeriod({ start, end, now });
  }
  if (!choice.ok) return unanswered(`CloudWatch no longer has the window (${choice.message})`);
  const resolved = await credentialProviderOf(deps).resolve(env);
  if (!resolved.ok) {
    return unanswered(
      `CloudWatch could not be asked: ${resolved.error?.message ?? resolved.message}`,
    );
  }
  const at = choice.period;
  try {
    const result = await deps.cloudwatch.getMetricData({
      region: env.region,
      credentials: resolved.credentials,
      dbInstanceIdentifier: env.dbInstanceIdentifier,
      metrics: types,
      stat,
      period: at,
      ...alignWindow(start, end, at, now),
    });
    const series = result.series.map((s): AnsweredSeries => ({
      ...withinWindow(s, start, end),
      source: "cloudwatch",
      ...(at === period ? {} : { period: at }),
    }));
    const messages = at === period ? result.messages : [
      `${
        types.join(", ")
      }: not in the capture's snapshot; CloudWatch keeps only ${at} s data for this window`,
      ...result.messages,
    ];
    return { series, complete: result.complete, messages };
  } catch (error) {
    if (error instanceof CloudWatchError) {
      return unanswered(`CloudWatch could not answer: ${error.message}`);
    }
    throw error;
  }
}

/**
 * Drops points stamped before the start's minute or after the end: the window already starts
 * there, so this only guards against CloudWatch rounding StartTime further down than expected
 * (the window aged into a coarser tier) and a window too short for one whole coarse period.
 */
function withinWindow(series: MetricSeries, start: Date, end: Date): MetricSeries {
  const from = Math.floor(start.getTime() / 60_000) * 60_000;
  const to = Math.max(end.getTime(), from);
  const datapoints = series.datapoints.filter((p) => {
    const at = Date.parse(p.timestamp);
    return at >= from && at <= to;
  });
  return datapoints.length === series.datapoints.length ? series : { ...series, datapoints };
}

/** The fields of a capture and its snapshot that decide a stored snapshot answer (db SnapshotProbe). */
export type SnapshotIdentity = CaptureTimes & { id: number; takenAt: number | null };

/**
 * The key a snapshot answer for `query` is remembered under (snapshotAnswerCacheOf), or undefined
 * when the answer at `now` may not be a stored one: no snapshot, a stat it does not keep, a window
 * not yet ended or still settling. Such an answer is a function of the key alone: the capture's
 * effective window (its start and end, epoch ms), the snapshot (one per capture, stored whole once
 * and never changed; its `takenAt` names it all the same), and the parsed query. The caller still
 * keeps only answers the snapshot alone gave (`stored`) whose window is the key's
 * (keyWindowMatches).
 */
export function snapshotAnswerKey(
  probe: SnapshotIdentity,
  query: MetricsQuery,
  now: number,
): string | undefined {
  if (probe.takenAt === null || !isSnapshotStat(query.stat)) return undefined;
  const { start, end } = statusAt(probe, now);
  if (start === null || end === null || now - end < SETTLE_MS) return undefined;
  return `${probe.id}:${probe.takenAt}:${start}:${end}:${query.stat}:${query.period ?? ""}:${
    query.types.join(",")
  }`;
}

/** True when `metrics` answers the window `probe` had at `now` (nothing changed in between). */
export function keyWindowMatches(
  metrics: CaptureMetrics,
  probe: SnapshotIdentity,
  now: number,
): boolean {
  const { start, end } = statusAt(probe, now);
  return metrics.captureId === probe.id && start !== null && end !== null &&
    Date.parse(metrics.start) === start && Date.parse(metrics.end) === end;
}
