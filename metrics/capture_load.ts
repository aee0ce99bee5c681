/**
 * A capture's database load (Performance Insights `db.load.avg`, average active sessions) over
 * its window, in total and for its top groups (waits, SQL digests, users, hosts); from the load
 * snapshot stored when it ended when there is one (no AWS call), else from Performance Insights.
 */
import type { Database } from "../db/client.ts";
import { findLoadGroup, findLoadSnapshot } from "../db/load_snapshots.ts";
import type { CaptureRow, EnvironmentRow } from "../db/schema.ts";
import { statusAt } from "../lifecycle/status.ts";
import { LOAD_GROUPS, type LoadGroupBy } from "../vocabulary.ts";
import { AwsError } from "./_cloudwatch_error.ts";
import type { CredentialProvider } from "./credentials.ts";
import type { PiClient, PiKey, PiPoint, PiSeries, PiTarget, PiWindow } from "./pi.ts";
import type { RdsClient } from "./rds.ts";
import { ensureResolved, resolveInstance } from "./resolve_instance.ts";

/** How long after a window ends its last points may still be arriving, in ms. */
export const LOAD_SETTLE_MS = 5 * 60_000;
/** The most points a series gets. */
export const LOAD_MAX_POINTS = 1440;
/** Performance Insights' periods, smallest first; 1 s is left out so load has the 60 s floor of metrics. */
export const LOAD_PERIODS = [60, 300, 3600, 86400] as const;
/** The most groups one answer (and one snapshot) carries: PI's own Limit. */
export const MAX_LOAD_GROUPS = 25;
/** How long a statement's text is in a load answer; the full text is GET …/sql/{digestId}. */
export const STATEMENT_PREVIEW_CHARS = 200;

/** What load queries need. */
export interface LoadDeps {
  db: Database;
  /** Absent: this process does not call Performance Insights (load answers 409). */
  pi?: PiClient;
  rds?: RdsClient;
  credentials: CredentialProvider;
}

/** A point as answered: ISO-8601 UTC period start, average active sessions. */
export interface LoadPoint {
  timestamp: string;
  value: number;
}

/** Per-call statistics of a SQL digest, where the engine reports them (else null). */
export interface SqlStats {
  callsPerSecond: number | null;
  latencyMsPerCall: number | null;
  rowsPerCall: number | null;
}

/** One group: its key, a label, its average load, its share of the total, its series. */
export interface LoadGroup {
  key: string;
  label: string;
  /** Average active sessions over the window. */
  load: number;
  /** load ÷ the instance's total load, 0..1. */
  share: number;
  datapoints: LoadPoint[];
  /** groupBy=sql only. */
  stats?: SqlStats;
  /** groupBy=sql only: the digest's text, cut to STATEMENT_PREVIEW_CHARS. */
  statement?: string;
}

/** The body of GET /api/captures/{id}/load. */
export interface CaptureLoad {
  captureId: number;
  start: string;
  end: string;
  period: number;
  groupBy: LoadGroupBy;
  source: "performance-insights" | "snapshot";
  complete: boolean;
  total: { load: number; datapoints: LoadPoint[] };
  groups: LoadGroup[];
}

/** A load answer, or why there is none (all become 409 but `upstream`). */
export type LoadOutcome =
  | { ok: true; load: CaptureLoad }
  | {
    ok: false;
    kind: "not_started" | "no_credentials" | "not_resolved" | "pi_off" | "outside_retention";
    message: string;
  }
  | { ok: false; kind: "upstream"; error: AwsError };

// Per-digest statistics (AWS RDS User Guide, "SQL statistics for Performance Insights"): the
// MySQL family reads events_statements_summary_by_digest, PostgreSQL pg_stat_statements.
const SQL_STATS: Record<"mysql" | "postgres", Record<keyof SqlStats, string>> = {
  mysql: {
    callsPerSecond: "db.sql_tokenized.stats.count_star_per_sec.avg",
    latencyMsPerCall: "db.sql_tokenized.stats.sum_timer_wait_per_call.avg",
    rowsPerCall: "db.sql_tokenized.stats.sum_rows_examined_per_call.avg",
  },
  postgres: {
    callsPerSecond: "db.sql_tokenized.stats.calls_per_sec.avg",
    latencyMsPerCall: "db.sql_tokenized.stats.avg_latency_per_call.avg",
    rowsPerCall: "db.sql_tokenized.stats.rows_per_call.avg",
  },
};

/** The statistics names for an RDS `Engine` value, or undefined when none are known. */
export function sqlStatsFor(engine: string | null) {
  if (!engine) return undefined;
  if (/postgres/.test(engine)) return SQL_STATS.postgres;
  if (/mysql|mariadb/.test(engine)) return SQL_STATS.mysql;
  return undefined;
}

/** Which dimensions name a group: its key and its label. */
const KEY_DIMENSIONS: Record<LoadGroupBy, { key: string; label: string[] }> = {
  wait: { key: "db.wait_event.name", label: ["db.wait_event.type", "db.wait_event.name"] },
  sql: { key: "db.sql_tokenized.id", label: ["db.sql_tokenized.statement"] },
  user: { key: "db.user.name", label: ["db.user.name"] },
  host: { key: "db.host.name", label: ["db.host.name"] },
};

/** The smallest PI period keeping `[start, end)` (ms) within LOAD_MAX_POINTS points. */
export function loadPeriod(start: number, end: number): number {
  const span = Math.max(1, (end - start) / 1000);
  return LOAD_PERIODS.find((p) => Math.ceil(span / p) <= LOAD_MAX_POINTS) ?? 86400;
}

/** The query window for `[start, end)` (ms) at `period`: whole periods covering it. */
export function loadWindow(start: number, end: number, period: number): PiWindow {
  const startTime = Math.floor(start / 1000 / period) * period;
  const endTime = Math.max(startTime + period, Math.ceil(end / 1000 / period) * period);
  return { startTime, endTime, period };
}

/** The capture's window: [start, end or now) in ms, whether it is over, or why there is none. */
export function captureWindow(capture: CaptureRow, now: number) {
  const current = statusAt(capture, now);
  if (current.start === null) {
    return {
      ok: false as const,
      message: current.status === "SCHEDULED"
        ? `Capture ${capture.id} is SCHEDULED; its load exists once it starts at ${
          new Date(capture.scheduledStart!).toISOString()
        }`
        : `Capture ${capture.id} is ${current.status} and never started; it has no load`,
    };
  }
  return {
    ok: true as const,
    start: current.start,
    end: current.end ?? now,
    ended: current.end !== null,
    settled: current.end !== null && now - current.end >= LOAD_SETTLE_MS,
  };
}

/** The capture's load grouped by `groupBy`, top `limit` groups. */
export async function readCaptureLoad(
  deps: LoadDeps,
  capture: CaptureRow,
  env: EnvironmentRow,
  query: { groupBy: LoadGroupBy; limit: number },
  now: Date,
): Promise<LoadOutcome> {
  const window = captureWindow(capture, now.getTime());
  if (!window.ok) return { ok: false, kind: "not_started", message: window.message };
  const head = {
    captureId: capture.id,
    start: new Date(window.start).toISOString(),
    end: new Date(window.end).toISOString(),
    groupBy: query.groupBy,
  };

  if (window.ended) {
    const stored = await findLoadSnapshot(deps.db, capture.id, query.groupBy);
    if (stored) {
      const period = Math.max(stored.header.period, loadPeriod(window.start, window.end));
      const total = rebucket(JSON.parse(stored.header.total), stored.header.period, period);
      const totalSum = sum(total);
      return {
        ok: true,
        load: {
          ...head,
          period,
          source: "snapshot",
          complete: stored.header.complete,
          total: { load: average(total, window, period), datapoints: total },
          groups: stored.groups.slice(0, query.limit).map((g) => {
            const datapoints = rebucket(JSON.parse(g.datapoints), stored.header.period, period);
            return {
              key: g.key,
              label: g.label,
              load: average(datapoints, window, period),
              share: totalSum > 0 ? sum(datapoints) / totalSum : 0,
              datapoints,
              ...(g.stats !== null ? { stats: JSON.parse(g.stats) as SqlStats } : {}),
              ...(g.statement !== null ? { statement: preview(g.statement) } : {}),
            };
          }),
        },
      };
    }
  }

  const target = await piTarget(deps, env, window, now.getTime());
  if (!target.ok) return target.refusal;
  const period = loadPeriod(window.start, window.end);
  try {
    const fetched = await fetchLoad(deps.pi!, target.target, target.env, {
      ...query,
      window: loadWindow(window.start, window.end, period),
    });
    const totalSum = sum(fetched.total);
    return {
      ok: true,
      load: {
        ...head,
        period,
        source: "performance-insights",
        // A window that began before PI's retention has only its later part; no total points at
        // all is PI having nothing for the window, not an idle database.
        complete: window.settled && fetched.complete && !target.partial && fetched.total.length > 0,
        total: { load: average(fetched.total, window, period), datapoints: fetched.total },
        groups: fetched.groups.map((g) => ({
          key: g.key,
          label: g.label,
          load: average(g.datapoints, window, period),
          share: totalSum > 0 ? sum(g.datapoints) / totalSum : 0,
          datapoints: g.datapoints,
          ...(g.stats ? { stats: g.stats } : {}),
          ...(g.statement !== undefined ? { statement: preview(g.statement) } : {}),
        })),
      },
    };
  } catch (error) {
    if (error instanceof AwsError) return { ok: false, kind: "upstream", error };
    throw error;
  }
}

/** A group as fetched: full statement text (as PI gives it, ≤ 500 bytes). */
export interface FetchedGroup {
  key: string;
  label: string;
  datapoints: LoadPoint[];
  stats?: SqlStats;
  statement?: string;
}

/**
 * The total series and the top `limit` groups' series over `window`: one GetResourceMetrics
 * call (total and grouped queries together), and for SQL one DescribeDimensionKeys for the
 * digests' statistics.
 */
export async function fetchLoad(
  pi: PiClient,
  target: PiTarget,
  env: EnvironmentRow,
  query: { groupBy: LoadGroupBy; limit: number; window: PiWindow },
): Promise<{ total: LoadPoint[]; groups: FetchedGroup[]; complete: boolean }> {
  const group = LOAD_GROUPS[query.groupBy];
  const dims = KEY_DIMENSIONS[query.groupBy];
  const limit = Math.min(MAX_LOAD_GROUPS, query.limit);
  const metrics = await pi.getResourceMetrics(target, query.window, [
    { metric: "db.load.avg" },
    { metric: "db.load.avg", groupBy: { group, limit } },
  ]);
  const totalSeries = metrics.series.find((s) => Object.keys(s.dimensions).length === 0);
  const grouped = metrics.series.filter((s) => s.dimensions[dims.key] !== undefined);
  let keys: PiKey[] = [];
  const statsNames = query.groupBy === "sql" ? sqlStatsFor(env.engine) : undefined;
  if (query.groupBy === "sql") {
    keys = await pi.describeDimensionKeys(target, query.window, {
      group,
      limit,
      additionalMetrics: statsNames ? Object.values(statsNames) : undefined,
    });
  }
  const groups = grouped
    .map((s) => ({ s, total: s.points.reduce((a, p) => a + p.value, 0) }))
    .sort((a, b) => b.total - a.total || keyOf(a.s, dims.key).localeCompare(keyOf(b.s, dims.key)))
    .slice(0, limit)
    .map(({ s }): FetchedGroup => {
      const key = keyOf(s, dims.key);
      // A wait named like its type ("CPU") reads once, not "CPU: CPU".
      const parts = [...new Set(dims.label.map((d) => s.dimensions[d]).filter(Boolean))];
      const label = parts.join(": ") || key;
      const out: FetchedGroup = { key, label, datapoints: points(s.points) };
      if (query.groupBy === "sql") {
        const described = keys.find((k) => k.dimensions[dims.key] === key);
        const read = (name?: string) =>
          name !== undefined && described?.additionalMetrics[name] !== undefined
            ? described.additionalMetrics[name]
            : null;
        out.stats = {
          callsPerSecond: read(statsNames?.callsPerSecond),
          latencyMsPerCall: read(statsNames?.latencyMsPerCall),
          rowsPerCall: read(statsNames?.rowsPerCall),
        };
        out.statement = s.dimensions["db.sql_tokenized.statement"] ??
          described?.dimensions["db.sql_tokenized.statement"] ?? "";
      }
      return out;
    });
  return { total: points(totalSeries?.points ?? []), groups, complete: metrics.complete };
}

/**
 * The PI target of an environment, or the 409 that says what is missing and what to do. A window
 * (ms) whose end is within PI's retention is answered; `partial` when its start is not (PI still
 * has only its later part).
 */
export async function piTarget(
  deps: LoadDeps,
  stored: EnvironmentRow,
  window: { start: number; end: number },
  now: number,
): Promise<
  | { ok: true; target: PiTarget; env: EnvironmentRow; partial: boolean }
  | { ok: false; refusal: LoadOutcome & { ok: false } }
> {
  if (!deps.pi || !deps.rds) {
    return {
      ok: false,
      refusal: {
        ok: false,
        kind: "not_resolved",
        message: "This server is not set up to call Performance Insights",
      },
    };
  }
  const credentials = await deps.credentials.resolve(stored);
  if (!credentials.ok) {
    return {
      ok: false,
      refusal: credentials.error
        ? { ok: false, kind: "upstream", error: credentials.error }
        : { ok: false, kind: "no_credentials", message: credentials.message },
    };
  }
  let { env, lookup } = await ensureResolved({ ...deps, rds: deps.rds }, stored, now);
  // A recent failed lookup left only its text; ask again so the answer names RDS's error (a
  // denied or throttled RDS is 502/503, not "unknown instance").
  if (!lookup && env.resolutionStatus === "pending") {
    ({ env, lookup } = await resolveInstance({ ...deps, rds: deps.rds }, env, now));
  }
  if (env.resolutionStatus !== "resolved" || !env.dbiResourceId) {
    if (lookup?.kind === "unknown" && lookup.error) {
      return { ok: false, refusal: { ok: false, kind: "upstream", error: lookup.error } };
    }
    return {
      ok: false,
      refusal: {
        ok: false,
        kind: "not_resolved",
        message: `Environment ${env.id}'s instance is not known to RDS yet: ${
          env.resolutionReason ?? "not looked up"
        }`,
      },
    };
  }
  if (!env.piEnabled) {
    return {
      ok: false,
      refusal: {
        ok: false,
        kind: "pi_off",
        message:
          `Performance Insights is off for ${env.dbInstanceIdentifier}; turn it on (RDS console or aws rds modify-db-instance --enable-performance-insights) to see load for captures from then on`,
      },
    };
  }
  const days = env.piRetentionDays ?? 7;
  if (now - window.end > days * 86_400_000) {
    return {
      ok: false,
      refusal: {
        ok: false,
        kind: "outside_retention",
        message: `Performance Insights keeps ${days} days for ${env.dbInstanceIdentifier}; ` +
          `this capture ended ${
            Math.floor((now - window.end) / 86_400_000)
          } days ago, so its load is gone. Raise the retention (--performance-insights-retention-period) for future captures; capwatch keeps load of captures that end while it is still there`,
      },
    };
  }
  return {
    ok: true,
    env,
    partial: now - window.start > days * 86_400_000,
    target: {
      region: env.region,
      credentials: credentials.credentials,
      identifier: env.dbiResourceId,
    },
  };
}

/** The body of GET /api/captures/{id}/sql/{digestId}. */
export interface SqlText {
  captureId: number;
  digestId: string;
  /** The `db.sql.id` of one statement of the digest seen in the window; null when unknown. */
  sqlId: string | null;
  statement: string;
  /** AVAILABLE, or PROCESSING when PI still works on it (then the text is truncated). */
  status: string;
  /** Where the text came from: kept with the capture, or asked of PI now. */
  source: "snapshot" | "performance-insights";
  /** True when `statement` is the digest's tokenized text as PI lists it (cut at 500 bytes). */
  truncated: boolean;
}

/** A digest's full statement text, or why there is none. */
export type SqlTextOutcome =
  | { ok: true; sql: SqlText }
  | { ok: false; kind: "unknown_digest"; message: string }
  | Exclude<LoadOutcome, { ok: true }>;

/**
 * The full text of a statement of SQL digest `digestId` over `window`: DescribeDimensionKeys on
 * group `db.sql` filtered by `db.sql_tokenized.id` finds one `db.sql.id`, then
 * GetDimensionKeyDetails (group `db.sql`, RequestedDimensions `statement`) gives its text.
 * Undefined when PI saw no statement of the digest; AwsError for faults.
 */
export async function fetchSqlText(
  pi: PiClient,
  target: PiTarget,
  window: PiWindow,
  digestId: string,
): Promise<{ sqlId: string; statement: string; status: string } | undefined> {
  const [key] = await pi.describeDimensionKeys(target, window, {
    group: "db.sql",
    dimensions: ["db.sql.id"],
    limit: 1,
    filter: { "db.sql_tokenized.id": digestId },
  });
  const sqlId = key?.dimensions["db.sql.id"];
  if (!sqlId) return undefined;
  const details = await pi.getDimensionKeyDetails(target, {
    group: "db.sql",
    groupIdentifier: sqlId,
    requestedDimensions: ["statement"],
  });
  const detail = details.find((d) => d.dimension === "db.sql.statement") ?? details[0];
  return { sqlId, statement: detail?.value ?? "", status: detail?.status ?? "UNAVAILABLE" };
}

/**
 * The full text of a statement of SQL digest `digestId` during the capture: kept with the
 * capture's load when it ended (no AWS call), else from PI (fetchSqlText); when PI cannot give
 * it any more (past retention, no such digest now), the kept tokenized text, marked truncated.
 */
export async function readSqlText(
  deps: LoadDeps,
  capture: CaptureRow,
  env: EnvironmentRow,
  digestId: string,
  now: Date,
): Promise<SqlTextOutcome> {
  const window = captureWindow(capture, now.getTime());
  if (!window.ok) return { ok: false, kind: "not_started", message: window.message };
  const kept = window.ended ? await findLoadGroup(deps.db, capture.id, "sql", digestId) : undefined;
  const head = { captureId: capture.id, digestId };
  if (kept?.fullStatement != null) {
    return {
      ok: true,
      sql: {
        ...head,
        sqlId: kept.sqlId,
        statement: kept.fullStatement,
        status: "AVAILABLE",
        source: "snapshot",
        truncated: false,
      },
    };
  }
  const fromPi = await sqlTextFromPi(deps, capture, env, digestId, window, now);
  // A fault is answered as one (retrying gets the full text); what PI can no longer give (past
  // retention, PI off, digest unseen) falls back to the kept text.
  if (fromPi.ok || fromPi.kind === "upstream" || kept?.statement == null) return fromPi;
  return {
    ok: true,
    sql: {
      ...head,
      sqlId: null,
      statement: kept.statement,
      status: "AVAILABLE",
      source: "snapshot",
      truncated: true,
    },
  };
}

async function sqlTextFromPi(
  deps: LoadDeps,
  capture: CaptureRow,
  env: EnvironmentRow,
  digestId: string,
  window: { start: number; end: number },
  now: Date,
): Promise<SqlTextOutcome> {
  const target = await piTarget(deps, env, window, now.getTime());
  if (!target.ok) return target.refusal;
  const period = loadPeriod(window.start, window.end);
  try {
    const text = await fetchSqlText(
      deps.pi!,
      target.target,
      loadWindow(window.start, window.end, period),
      digestId,
    );
    if (!text) {
      return {
        ok: false,
        kind: "unknown_digest",
        message:
          `Performance Insights saw no statement of digest ${digestId} during capture ${capture.id}; take digest ids from GET /api/captures/${capture.id}/load?groupBy=sql`,
      };
    }
    return {
      ok: true,
      sql: {
        captureId: capture.id,
        digestId,
        ...text,
        source: "performance-insights",
        truncated: text.status !== "AVAILABLE",
      },
    };
  } catch (error) {
    if (error instanceof AwsError) return { ok: false, kind: "upstream", error };
    throw error;
  }
}

function keyOf(s: PiSeries, dimension: string): string {
  return s.dimensions[dimension] ?? "";
}

function points(list: PiPoint[]): LoadPoint[] {
  return list.map((p) => ({ timestamp: new Date(p.at).toISOString(), value: p.value }));
}

function sum(list: LoadPoint[]): number {
  return list.reduce((a, p) => a + p.value, 0);
}

/**
 * Average active sessions over the window: the sum over its periods ÷ their number, the periods
 * being those PI was asked for (loadWindow aligns start down and end up, so a window off the
 * minute spans one period more than its length). A period with no point counts as no load.
 */
function average(list: LoadPoint[], window: { start: number; end: number }, period: number) {
  const asked = loadWindow(window.start, window.end, period);
  const periods = Math.max(1, (asked.endTime - asked.startTime) / period);
  return round(sum(list) / periods);
}

function round(n: number): number {
  return Math.round(n * 1e6) / 1e6;
}

function preview(text: string): string {
  return text.length > STATEMENT_PREVIEW_CHARS
    ? `${text.slice(0, STATEMENT_PREVIEW_CHARS)}…`
    : text;
}

/** Points at `from` seconds averaged into buckets of `to` seconds (a multiple). */
function rebucket(list: LoadPoint[], from: number, to: number): LoadPoint[] {
  if (to === from) return list;
  const per = to / from;
  const buckets = new Map<number, number>();
  for (const p of list) {
    const at = Math.floor(Date.parse(p.timestamp) / 1000 / to) * to * 1000;
    buckets.set(at, (buckets.get(at) ?? 0) + p.value / per);
  }
  return [...buckets.entries()].sort(([a], [b]) => a - b)
    .map(([at, value]) => ({ timestamp: new Date(at).toISOString(), value: round(value) }));
}
