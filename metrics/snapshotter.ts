import { findEnvironment } from "../db/environments.ts";
import { type SnapshotQuota, storedSnapshotBytes, textBytes } from "../db/snapshot_bytes.ts";
import {
  capturesDueForSnapshot,
  claimSnapshot,
  recordSnapshotFailure,
  saveSnapshot,
  type StoredSeries,
} from "../db/snapshots.ts";
import type { Snapshotter } from "../lifecycle/sweeper.ts";
import type { Logger } from "../logger.ts";
import { METRIC_TYPES } from "./catalogue.ts";
import { CloudWatchError } from "./cloudwatch.ts";
import { credentialProviderOf, type MetricsDeps, SETTLE_MS } from "./capture_metrics.ts";
import { alignWindow } from "./period.ts";
import { encodeDatapoints, SNAPSHOT_STATS } from "./snapshot_series.ts";
import { snapshotLoad } from "./load_snapshotter.ts";
import type { PiClient } from "./pi.ts";
import type { RdsClient } from "./rds.ts";

/** CloudWatch needs a few minutes after a window ends before its last points are in. */
export const SNAPSHOT_DELAY_MS = SETTLE_MS;
const FULL_RESOLUTION_KEPT_MS = 15 * 24 * 3600_000;
const PER_SWEEP = 10;
const PARTIAL_ATTEMPTS = 3;
/**
 * The most points a stored series holds: 7 days at 60 s. A longer window is stored at the
 * smallest multiple of 60 s that keeps within it, so no snapshot read parses more than this.
 */
export const SNAPSHOT_MAX_POINTS = 10_080;

/** The period (s) a snapshot of `[start, end]` (ms) is stored at: 60, or coarser past the cap. */
export function snapshotPeriod(start: number, end: number): number {
  const minutes = Math.max(1, Math.ceil((end - start) / 60_000));
  return 60 * Math.ceil(minutes / SNAPSHOT_MAX_POINTS);
}

/**
 * How long a claim on one capture's snapshot holds, in ms: well past the worst case of its
 * GetMetricData calls (one per stat, each within the client's 10 s budget), so a live instance
 * never loses it, and short enough that a crashed instance's capture is soon taken over.
 */
export const SNAPSHOT_LEASE_MS = 2 * 60_000;

/**
 * Stores the full-resolution (60 s) series of finished captures, so they outlive CloudWatch's
 * 15-day retention of 1-minute data. A failure is recorded and retried with backoff; it never
 * affects reads, which fall back to CloudWatch.
 */
export function createSnapshotter(deps: SnapshotterDeps & { instanceId?: string }): Snapshotter {
  // Identifies this instance's claims; another process never shares it.
  const owner = deps.instanceId ?? crypto.randomUUID();
  return {
    async run(now) {
      const at = now.getTime();
      const runStarted = performance.now();
      const dueAt = { endedBefore: at - SNAPSHOT_DELAY_MS, now: at };
      const due = await capturesDueForSnapshot(deps.db, { ...dueAt, limit: PER_SWEEP });
      let stored = 0;
      let failed = 0;
      for (const candidate of due) {
        // Claimed just before its AWS calls and dated by the time spent so far: the lease must
        // cover this capture's calls, not the wait behind the ones before it.
        const claimedAt = at + Math.round(performance.now() - runStarted);
        const capture = await claimSnapshot(deps.db, candidate.id, {
          owner,
          until: claimedAt + SNAPSHOT_LEASE_MS,
        }, dueAt);
        if (!capture) continue; // another instance has it, or took it already
        const tooOld = at - capture.start! > FULL_RESOLUTION_KEPT_MS;
        // CloudWatch answers a 60 s query this old with no points: a snapshot would only hide
        // the coarser data it still has, so none is taken.
        const error = tooOld
          ? `CloudWatch keeps 1-minute data 15 days and capture ${capture.id} started ${
            Math.floor((at - capture.start!) / 86_400_000)
          } days ago; no snapshot will be taken`
          : await snapshotOne(deps, capture, at, owner);
        if (error === undefined) {
          stored++;
          continue;
        }
        failed++;
        const attempts = capture.snapshotAttempts + 1;
        const retryAt = tooOld ? null : at + Math.min(2 ** attempts, 60) * 60_000;
        await recordSnapshotFailure(deps.db, capture.id, owner, error, retryAt);
        deps.logger.warn("snapshot failed", { captureId: capture.id, attempts, error, retryAt });
      }
      return { stored, failed };
    },
  };
}

/** What the snapshotter needs; `snapshotBytesPerEnvironment` is the quota (0 or absent: none). */
export type SnapshotterDeps = MetricsDeps & {
  logger: Logger;
  pi?: PiClient;
  rds?: RdsClient;
  snapshotBytesPerEnvironment?: number;
};

async function snapshotOne(
  deps: SnapshotterDeps,
  capture: {
    id: number;
    envId: number;
    start: number | null;
    end: number | null;
    snapshotAttempts: number;
  },
  now: number,
  owner: string,
): Promise<string | undefined> {
  const env = await findEnvironment(deps.db, capture.envId);
  if (!env) return "The environment is gone";
  const resolved = await credentialProviderOf(deps).resolve(env);
  if (!resolved.ok) {
    return resolved.error
      ? `${resolved.error.service}: ${
        resolved.error.code ?? resolved.error.kind
      }: ${resolved.error.message}`
      : resolved.message;
  }
  const period = snapshotPeriod(capture.start!, capture.end!);
  const window = alignWindow(new Date(capture.start!), new Date(capture.end!), period);
  try {
    const series: StoredSeries[] = [];
    let complete = true;
    for (const stat of SNAPSHOT_STATS) {
      const result = await deps.cloudwatch.getMetricData({
        region: env.region,
        credentials: resolved.credentials,
        dbInstanceIdentifier: env.dbInstanceIdentifier,
        metrics: [...METRIC_TYPES],
        stat,
        period,
        ...window,
      });
      if (result.messages.length > 0) {
        deps.logger.warn("cloudwatch messages", {
          captureId: capture.id,
          stat,
          messages: result.messages,
        });
      }
      for (const one of result.series) {
        const { datapoints, ...rest } = one;
        series.push({ ...rest, stat, datapoints: encodeDatapoints(datapoints) });
      }
      complete &&= result.complete;
    }
    // Partial data is worth a few more tries before it is kept as the best CloudWatch has.
    if (!complete && capture.snapshotAttempts + 1 < PARTIAL_ATTEMPTS) {
      return "CloudWatch answered with partial data; trying again later";
    }
    const limit = deps.snapshotBytesPerEnvironment ?? 0;
    const quota: SnapshotQuota | undefined = limit > 0 ? { envId: env.id, limit } : undefined;
    // Past the quota the CloudWatch series are kept first, in order, as many as fit: a series
    // left out is read from CloudWatch while it has it, and empty and incomplete after.
    const stored = quota ? await storedSnapshotBytes(deps.db, env.id) : 0;
    const kept = quota
      ? fitting(series, (one) => textBytes(one.datapoints), limit - stored)
      : series;
    const keptBytes = kept.reduce((sum, one) => sum + textBytes(one.datapoints), 0);
    if (kept.length < series.length) {
      deps.logger.warn("snapshot incomplete: QUOTA_SNAPSHOT_BYTES_PER_ENVIRONMENT reached", {
        captureId: capture.id,
        envId: env.id,
        storedBytes: stored,
        limit,
        seriesKept: kept.length,
        seriesLeftOut: series.length - kept.length,
      });
    }
    // Database load from Performance Insights, stored first: the CloudWatch rows release the
    // claim. It gets what the CloudWatch series leave of the quota.
    const loadError = await snapshotLoad(
      { ...deps, credentials: credentialProviderOf(deps) },
      { id: capture.id, start: capture.start!, end: capture.end! },
      env,
      now,
      owner,
      quota && { envId: env.id, limit: limit - keptBytes },
    );
    if (loadError !== undefined) return loadError;
    const outcome = await saveSnapshot(
      deps.db,
      {
        captureId: capture.id,
        period,
        start: capture.start!,
        end: capture.end!,
        complete: complete && kept.length === series.length,
        takenAt: now,
      },
      kept,
      owner,
      quota,
    );
    if (outcome === "lost") {
      deps.logger.warn("snapshot lease lost before it was stored", { captureId: capture.id });
    }
    if (outcome === "over-quota") {
      return `Environment ${env.id} passed QUOTA_SNAPSHOT_BYTES_PER_ENVIRONMENT while the snapshot was taken; trying again`;
    }
    return undefined;
  } catch (error) {
    if (error instanceof CloudWatchError) {
      return `CloudWatch: ${error.code ?? error.kind}: ${error.message}`;
    }
    throw error;
  }
}

/** The leading items of `items` whose sizes add up to at most `budget`. */
export function fitting<T>(items: readonly T[], size: (item: T) => number, budget: number): T[] {
  let left = budget;
  const kept: T[] = [];
  for (const item of items) {
    left -= size(item);
    if (left < 0) break;
    kept.push(item);
  }
  return kept;
}
