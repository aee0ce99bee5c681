/**
 * The load half of a capture's snapshot: when a capture ends, its load by wait and by SQL (top
 * 25 each, at 60 s) is stored while Performance Insights still has it (7 days on the free tier),
 * under the same claim as its CloudWatch snapshot (metrics/snapshotter.ts).
 */
import {
  loadBytes,
  saveLoadSnapshots,
  type StoredLoad,
  type StoredLoadGroup,
} from "../db/load_snapshots.ts";
import { type SnapshotQuota, storedSnapshotBytes } from "../db/snapshot_bytes.ts";
import type { EnvironmentRow } from "../db/schema.ts";
import type { Logger } from "../logger.ts";
import type { LoadGroupBy } from "../vocabulary.ts";
import { AwsError } from "./_cloudwatch_error.ts";
import {
  fetchLoad,
  fetchSqlText,
  type LoadDeps,
  loadWindow,
  MAX_LOAD_GROUPS,
  piTarget,
} from "./capture_load.ts";
import type { PiClient, PiTarget, PiWindow } from "./pi.ts";

/** The groupings kept with a capture. */
export const SNAPSHOT_LOAD_GROUPS: readonly LoadGroupBy[] = ["wait", "sql"];
/** The period (s) load is kept at. */
export const SNAPSHOT_LOAD_PERIOD = 60;

/**
 * Stores the capture's load; resolves to an error to retry later (throttled, timed out), or
 * undefined when stored or when there is nothing to store (PI off, past retention, denied: logged).
 * With a `quota`, what does not fit is left out (logged): groups from the lowest rank, the
 * grouping marked incomplete, or the whole grouping (then read from PI while it has it).
 */
export async function snapshotLoad(
  deps: LoadDeps & { logger: Logger },
  capture: { id: number; start: number; end: number },
  env: EnvironmentRow,
  now: number,
  owner: string,
  quota?: SnapshotQuota,
): Promise<string | undefined> {
  if (!deps.pi || !deps.rds) return undefined;
  const target = await piTarget(deps, env, capture, now);
  if (!target.ok) {
    const refusal = target.refusal;
    if (refusal.kind === "upstream") return skipOrRetry(deps, capture.id, refusal.error);
    deps.logger.info("load not kept", { captureId: capture.id, reason: refusal.message });
    return undefined;
  }
  const window = loadWindow(capture.start, capture.end, SNAPSHOT_LOAD_PERIOD);
  const loads: Array<{ header: StoredLoad; groups: StoredLoadGroup[] }> = [];
  try {
    for (const groupBy of SNAPSHOT_LOAD_GROUPS) {
      const fetched = await fetchLoad(deps.pi, target.target, target.env, {
        groupBy,
        limit: MAX_LOAD_GROUPS,
        window,
      });
      // One digest's text at a time: PI's request rate is shared with every other caller.
      const groups: StoredLoadGroup[] = [];
      for (const [rank, g] of fetched.groups.entries()) {
        groups.push({
          key: g.key,
          rank,
          label: g.label,
          stats: g.stats ? JSON.stringify(g.stats) : null,
          statement: g.statement ?? null,
          ...(groupBy === "sql"
            ? await keptText(deps, target.target, window, g.key, capture.id)
            : { sqlId: null, fullStatement: null }),
          datapoints: JSON.stringify(g.datapoints),
        });
      }
      loads.push({
        header: {
          groupBy,
          period: SNAPSHOT_LOAD_PERIOD,
          start: capture.start,
          end: capture.end,
          // No total points: PI had nothing for the window (not an idle database), kept as unknown.
          complete: fetched.complete && !target.partial && fetched.total.length > 0,
          takenAt: now,
          total: JSON.stringify(fetched.total),
        },
        groups,
      });
    }
  } catch (error) {
    if (error instanceof AwsError) return skipOrRetry(deps, capture.id, error);
    throw error;
  }
  const kept = quota ? await withinQuota(deps, capture.id, loads, quota) : loads;
  if (!await saveLoadSnapshots(deps.db, capture.id, owner, kept, quota)) {
    deps.logger.warn("snapshot lease lost before load was stored", { captureId: capture.id });
  }
  return undefined;
}

/** The groupings, trimmed (groups from the lowest rank) to what the quota has left. */
async function withinQuota(
  deps: LoadDeps & { logger: Logger },
  captureId: number,
  loads: Array<{ header: StoredLoad; groups: StoredLoadGroup[] }>,
  quota: SnapshotQuota,
) {
  let left = quota.limit - await storedSnapshotBytes(deps.db, quota.envId);
  const kept: typeof loads = [];
  for (const load of loads) {
    let { groups } = load;
    while (groups.length > 0 && loadBytes({ header: load.header, groups }) > left) {
      groups = groups.slice(0, -1);
    }
    const bytes = loadBytes({ header: load.header, groups });
    if (bytes > left || groups.length < load.groups.length) {
      deps.logger.warn("load snapshot incomplete: QUOTA_SNAPSHOT_BYTES_PER_ENVIRONMENT reached", {
        captureId,
        envId: quota.envId,
        groupBy: load.header.groupBy,
        groupsKept: bytes > left ? 0 : groups.length,
        groupsLeftOut: bytes > left ? load.groups.length : load.groups.length - groups.length,
      });
    }
    if (bytes > left) continue;
    left -= bytes;
    const complete = load.header.complete && groups.length === load.groups.length;
    kept.push({ header: { ...load.header, complete }, groups });
  }
  return kept;
}

/** Throttling, timeouts and server misconfiguration pass; anything else (denied, bad answers) would not, so it is skipped. */
function skipOrRetry(deps: { logger: Logger }, captureId: number, error: AwsError) {
  const text = `${error.service}: ${error.code ?? error.kind}: ${error.message}`;
  if (error.kind === "throttled" || error.kind === "timeout" || error.kind === "misconfigured") {
    return text;
  }
  deps.logger.warn("load not kept", { captureId, error: text });
  return undefined;
}

/**
 * A digest's full text to keep (two PI calls); on any fault, none: GET …/sql/{digestId} then
 * answers from PI while it has the text, else with the kept tokenized text marked truncated.
 */
async function keptText(
  deps: { pi?: PiClient; logger: Logger },
  target: PiTarget,
  window: PiWindow,
  digestId: string,
  captureId: number,
): Promise<{ sqlId: string | null; fullStatement: string | null }> {
  try {
    const text = await fetchSqlText(deps.pi!, target, window, digestId);
    return text?.status === "AVAILABLE"
      ? { sqlId: text.sqlId, fullStatement: text.statement }
      : { sqlId: text?.sqlId ?? null, fullStatement: null };
  } catch (error) {
    if (!(error instanceof AwsError)) throw error;
    deps.logger.warn("statement text not kept", { captureId, digestId, error: error.message });
    return { sqlId: null, fullStatement: null };
  }
}
