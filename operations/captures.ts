import { canManageCapture } from "../auth/access.ts";
import {
  type CaptureChanges,
  type CaptureFilter,
  type CaptureLimits,
  deleteCapture as deleteIfManageable,
  editExceedsRunningLimit,
  type ExpectedVersions,
  findCaptureForMember,
  findListedCaptureForMember,
  insertCapture,
  listCapturesForMember,
  type ListedCapture,
  stopIfRunning,
  updateCaptureIfEditable,
} from "../db/captures.ts";
import type { Database } from "../db/client.ts";
import { findEnvironment, findEnvironmentForMember } from "../db/environments.ts";
import type { CaptureRow, EnvironmentRow } from "../db/schema.ts";
import { type ETagCondition, ifMatchHolds, strongETag, strongTagParts } from "../http/etag.ts";
import { statusAt } from "../lifecycle/status.ts";
import { CAPTURE_STATUSES, type CaptureStatus } from "../vocabulary.ts";
import {
  editRefusal,
  initialFields,
  invalidField,
  type NewCaptureTimes,
  stopRefusal,
} from "../lifecycle/rules.ts";
import {
  type CaptureMetrics,
  keyWindowMatches,
  type MetricsDeps,
  type MetricsQuery,
  readCaptureMetrics,
  snapshotAnswerKey,
} from "../metrics/capture_metrics.ts";
import { snapshotAnswerCacheOf } from "../metrics/snapshot_cache.ts";
import { findSnapshotProbe, type SnapshotProbe } from "../db/snapshots.ts";
import {
  type CaptureLoad,
  type LoadDeps,
  readCaptureLoad,
  readSqlText,
  type SqlText,
} from "../metrics/capture_load.ts";
import { checkCaptureInstance } from "../metrics/resolve_instance.ts";
import type { LoadGroupBy } from "../vocabulary.ts";
import { BAD_CURSOR, decodeIdCursor, encodeIdCursor, pageOf } from "./cursor.ts";
import { environmentNotFound, type Outcome, type Refusal } from "./outcome.ts";

// Each change is one conditional statement that decides (membership, role and status are in its
// WHERE); only when it changed nothing does one read say why.

/** What a caller may do to a capture they manage. */
export type CaptureAction = "edit" | "stop" | "delete";

/** 404 that does not reveal whether the capture exists. */
const captureNotFound = (id: number): Refusal & { kind: "not_found" } => ({
  ok: false,
  kind: "not_found",
  detail: `Capture ${id} does not exist or you are not a member of its environment`,
});

const nameTaken = (name: string, envId: number): Refusal & { kind: "conflict" } => ({
  ok: false,
  kind: "conflict",
  detail: `Environment ${envId} already has a capture named "${name}"; pick another name`,
  problemKind: "name-taken",
});

/**
 * The capture's strong ETag at `now`: its id, version and computed status, which together decide
 * every field of its representation (the status moves with time even when the row does not).
 */
export function captureETag(row: ListedCapture, now: number): string {
  return strongETag("c", row.id, row.version, statusAt(row, now).status);
}

/** The (version, status) pairs an If-Match names for capture `id`; foreign tags are left out. */
function expectedVersions(id: number, condition: ETagCondition): ExpectedVersions {
  const parts = strongTagParts(condition);
  if (parts === "any") return "any";
  return parts.flatMap(([prefix, tagId, version, status, ...rest]) =>
    prefix === "c" && tagId === String(id) && /^[1-9]\d{0,14}$/.test(version ?? "") &&
      CAPTURE_STATUSES.includes(status as CaptureStatus) && rest.length === 0
      ? [{ version: Number(version), status: status as CaptureStatus }]
      : []
  );
}

/** 412 when an If-Match was given and no longer matches the capture as it is at `now`. */
function stale(
  id: number,
  capture: CaptureRow,
  ifMatch: ETagCondition | undefined,
  now: number,
): (Refusal & { kind: "precondition_failed" }) | undefined {
  if (ifMatchHolds(ifMatch, captureETag(capture, now))) return undefined;
  return {
    ok: false,
    kind: "precondition_failed",
    detail:
      `Capture ${id}'s current ETag is not one your If-Match names (it changed, or the header names no tag of it); read it again (GET /api/captures/${id}) and retry with its ETag`,
  };
}

/** One read after a change found nothing: 404, 403, or the row as it is now for a rule to judge. */
async function explain(
  db: Database,
  id: number,
  userId: string,
  action: CaptureAction,
): Promise<Outcome<{ capture: CaptureRow }, "not_found" | "forbidden">> {
  const latest = await findCaptureForMember(db, id, userId);
  if (!latest) return captureNotFound(id);
  if (!canManageCapture(latest.role, latest.capture.ownerId, userId)) {
    return {
      ok: false,
      kind: "forbidden",
      detail: `Only the owner of capture ${id} or an admin of its environment may ${action} it`,
    };
  }
  return { ok: true, capture: latest.capture };
}

/** A list request: CaptureFilter with the opaque `cursor` the previous page gave out. */
export type ListCapturesInput = Omit<CaptureFilter, "beforeId"> & { cursor?: string };

/**
 * One page (plus one) of the captures the user may see, newest first (db listCapturesForMember);
 * `next` is the cursor of the page after it, when there is one.
 */
export async function listCaptures(
  db: Database,
  input: ListCapturesInput,
): Promise<Outcome<{ page: ListedCapture[]; next?: string }, "not_found" | "invalid">> {
  const { cursor, ...filter } = input;
  const { envId, userId } = filter;
  // The list holds only the member's captures, so a page with rows proves membership: only an
  // empty page (or a bad cursor, whose 400 a non-member must not see) needs the read for a 404.
  const notMember = async () =>
    envId !== undefined && !await findEnvironmentForMember(db, envId, userId);
  const beforeId = cursor === undefined ? undefined : decodeIdCursor("c1", cursor);
  if (cursor !== undefined && beforeId === undefined) {
    return await notMember() ? environmentNotFound(envId!) : invalidField("cursor", BAD_CURSOR);
  }
  const rows = await listCapturesForMember(db, { ...filter, beforeId });
  if (rows.length === 0 && await notMember()) return environmentNotFound(envId!);
  return { ok: true, ...pageOf(rows, filter.limit, (last) => encodeIdCursor("c1", last.id)) };
}

/** A capture the user may see (a member of its environment). */
export async function readCapture(
  db: Database,
  id: number,
  userId: string,
): Promise<Outcome<{ capture: ListedCapture }, "not_found">> {
  const capture = await findListedCaptureForMember(db, id, userId);
  return capture ? { ok: true, capture } : captureNotFound(id);
}

/** A new capture's fields as given; times in epoch ms, duration in seconds or null. */
export interface CreateCaptureInput extends NewCaptureTimes {
  envId: number;
  name: string;
}

/** Creates a capture owned by `userId` in an environment they belong to, status per lifecycle. */
export async function createCapture(
  db: Database,
  userId: string,
  input: CreateCaptureInput,
  now: number,
  limits?: CaptureLimits,
): Promise<Outcome<{ capture: CaptureRow }, "not_found" | "conflict" | "invalid" | "quota">> {
  const initial = initialFields(input, now);
  if (!initial.ok) {
    // An environment the caller cannot see answers 404 before any rule on the fields.
    const member = await findEnvironmentForMember(db, input.envId, userId);
    return member ? initial : environmentNotFound(input.envId);
  }
  const row = await insertCapture(
    db,
    {
      envId: input.envId,
      ownerId: userId,
      name: input.name,
      duration: input.duration,
      reason: null,
      ...initial.fields,
    },
    now,
    limits,
  );
  if (row === "name_taken") return nameTaken(input.name, input.envId);
  if (row === "quota_captures") {
    return {
      ok: false,
      kind: "quota",
      detail: `Environment ${input.envId} has ${limits!.perEnvironment} captures, the most this ` +
        "server allows (QUOTA_CAPTURES_PER_ENVIRONMENT); delete ones you no longer need",
    };
  }
  if (row === "quota_running") {
    return {
      ok: false,
      kind: "quota",
      detail: runningQuotaDetail(input.envId, limits!.runningPerEnvironment),
    };
  }
  if (row === "not_member") return environmentNotFound(input.envId);
  return { ok: true, capture: row };
}

/** 429 text: the window would overlap as many captures as may run at once. */
function runningQuotaDetail(envId: number, limit: number): string {
  return `Environment ${envId} already has ${limit} captures running at some time in this ` +
    "capture's window, the most this server allows at once " +
    "(QUOTA_RUNNING_CAPTURES_PER_ENVIRONMENT); stop or shorten one, or pick a window after theirs";
}

/** An edit: a new name, scheduledStart (epoch ms) and/or duration (seconds); db/captures.ts lists them. */
export type CaptureEdit = CaptureChanges;

/**
 * Applies an edit the lifecycle rules allow (lifecycle/rules.ts editRefusal), to the capture
 * `ifMatch` names when given (else 412), in the one statement.
 */
export async function editCapture(
  db: Database,
  id: number,
  userId: string,
  edit: CaptureEdit,
  now: number,
  ifMatch?: ETagCondition,
  /** QUOTA_RUNNING_CAPTURES_PER_ENVIRONMENT; 0 or absent: no limit. */
  runningLimit = 0,
): Promise<
  Outcome<
    { capture: CaptureRow },
    "not_found" | "forbidden" | "conflict" | "invalid" | "precondition_failed" | "quota"
  >
> {
  const expected = ifMatch && expectedVersions(id, ifMatch);
  const row = await updateCaptureIfEditable(db, id, userId, edit, now, expected, runningLimit);
  if (row !== undefined && row !== "name_taken") return { ok: true, capture: row };
  const latest = await explain(db, id, userId, "edit");
  if (!latest.ok) return latest;
  const changed = stale(id, latest.capture, ifMatch, now);
  if (changed) return changed;
  if (row === "name_taken") return nameTaken(edit.name!, latest.capture.envId);
  const refused = editRefusal(id, latest.capture, edit, now);
  if (refused) return refused;
  if (runningLimit > 0 && await editExceedsRunningLimit(db, id, edit, now, runningLimit)) {
    return {
      ok: false,
      kind: "quota",
      detail: runningQuotaDetail(latest.capture.envId, runningLimit),
    };
  }
  return {
    ok: false,
    kind: "conflict",
    problemKind: "conflict",
    detail: `Capture ${id} changed while you were editing it; read it again and retry`,
  };
}

/** Ends a RUNNING capture now, if it is still the one `ifMatch` names (else 412). */
export async function stopCapture(
  db: Database,
  id: number,
  userId: string,
  now: number,
  ifMatch?: ETagCondition,
): Promise<
  Outcome<{ capture: CaptureRow }, "not_found" | "forbidden" | "conflict" | "precondition_failed">
> {
  const expected = ifMatch && expectedVersions(id, ifMatch);
  const stopped = await stopIfRunning(db, id, userId, now, expected);
  if (stopped) return { ok: true, capture: stopped };
  const latest = await explain(db, id, userId, "stop");
  if (!latest.ok) return latest;
  return stale(id, latest.capture, ifMatch, now) ?? stopRefusal(id, latest.capture, now);
}

/** Deletes a capture in any status, with its stored metrics, if `ifMatch` holds (else 412). */
export async function deleteCapture(
  db: Database,
  id: number,
  userId: string,
  now: number,
  ifMatch?: ETagCondition,
): Promise<Outcome<object, "not_found" | "forbidden" | "precondition_failed">> {
  const precondition = ifMatch && { expected: expectedVersions(id, ifMatch), now };
  if (await deleteIfManageable(db, id, userId, precondition)) return { ok: true };
  const latest = await explain(db, id, userId, "delete");
  if (!latest.ok) return latest;
  // Manageable but not deleted: it changed since the If-Match, or someone else deleted it.
  return stale(id, latest.capture, ifMatch, now) ?? captureNotFound(id);
}

/** A capture with its environment, as the metrics operations read it. */
export interface VisibleCapture {
  capture: CaptureRow;
  env: EnvironmentRow;
}

/**
 * What reading one capture's metrics answers; `name` is the capture's, for titles; `stored`:
 * the stored snapshot alone answered (capture_metrics.ts MetricsOutcome).
 */
/** Why a metrics read is refused. */
type CaptureMetricsRefusal = "not_found" | "conflict" | "invalid" | "upstream";

export type CaptureMetricsOutcome = Outcome<
  { name: string; metrics: CaptureMetrics; messages: string[]; stored: boolean },
  CaptureMetricsRefusal
>;

/** Capture `id` and its environment when `userId` is a member of it; else not_found (no AWS). */
export async function findVisibleCapture(
  db: Database,
  id: number,
  userId: string,
): Promise<Outcome<VisibleCapture, "not_found">> {
  const found = await findCaptureForMember(db, id, userId);
  const env = found && await findEnvironment(db, found.capture.envId);
  return found && env ? { ok: true, capture: found.capture, env } : captureNotFound(id);
}

/** A capture's metrics for a member of its environment (metrics/capture_metrics.ts). */
export async function readCaptureMetricsFor(
  deps: MetricsDeps,
  id: number,
  userId: string,
  query: MetricsQuery,
  now: Date,
): Promise<CaptureMetricsOutcome> {
  const found = await findVisibleCapture(deps.db, id, userId);
  return found.ok ? await readVisibleCaptureMetrics(deps, found, query, now) : found;
}

/**
 * The access check of a metrics read, in one query: not_found as findVisibleCapture() says it,
 * else what identifies the answer (`probe`) and, when the answer at `now` would be a stored,
 * unchanging snapshot answer, the `key` it is remembered under (capture_metrics.ts
 * snapshotAnswerKey).
 */
async function probeCaptureMetrics(
  db: Database,
  id: number,
  userId: string,
  query: MetricsQuery,
  now: number,
): Promise<Outcome<{ probe: SnapshotProbe; key?: string }, "not_found">> {
  const probe = await findSnapshotProbe(db, id, userId);
  if (probe === undefined) return captureNotFound(id);
  return { ok: true, probe, key: snapshotAnswerKey(probe, query, now) };
}

/**
 * Capture `id`'s metrics answer as JSON text, for `userId` at `now`: a settled stored-snapshot
 * answer comes from the per-database answer cache (metrics/snapshot_cache.ts) once made, after
 * the access check (probeCaptureMetrics), which runs every time; anything else is read afresh
 * (readCaptureMetricsFor) and, when the snapshot alone gave it and its window still matches the
 * probe, kept. `messages` are CloudWatch's remarks (none from the cache).
 */
export async function readCaptureMetricsJson(
  deps: MetricsDeps,
  id: number,
  userId: string,
  query: MetricsQuery,
  now: Date,
): Promise<Outcome<{ body: string; messages: string[] }, CaptureMetricsRefusal>> {
  const found = await probeCaptureMetrics(deps.db, id, userId, query, now.getTime());
  if (!found.ok) return found;
  const { probe, key } = found;
  const bodies = snapshotAnswerCacheOf(deps.db);
  const kept = key === undefined ? undefined : bodies.get(key);
  if (kept !== undefined) return { ok: true, body: kept, messages: [] };
  const outcome = await readCaptureMetricsFor(deps, id, userId, query, now);
  if (!outcome.ok) return outcome;
  const body = JSON.stringify(outcome.metrics);
  if (
    key !== undefined && outcome.stored &&
    keyWindowMatches(outcome.metrics, probe, now.getTime())
  ) bodies.set(key, body, body.length);
  return { ok: true, body, messages: outcome.messages };
}

/** The metrics of a capture findVisibleCapture() found, its refusals as operation kinds. */
export async function readVisibleCaptureMetrics(
  deps: MetricsDeps,
  { capture, env }: VisibleCapture,
  query: MetricsQuery,
  now: Date,
): Promise<CaptureMetricsOutcome> {
  const outcome = await readCaptureMetrics(deps, capture, env, query, now);
  if (outcome.ok) return { ...outcome, name: capture.name };
  switch (outcome.kind) {
    case "upstream":
      return outcome;
    case "invalid":
      return { ...outcome, detail: `Check ${outcome.field}: ${outcome.message}` };
    case "not_started":
    case "no_credentials":
    case "gone":
      return { ok: false, kind: "conflict", detail: outcome.message, problemKind: "invalid-state" };
  }
}

/**
 * A capture's database load for a member of its environment (metrics/capture_load.ts). Every
 * reason there is none (not started, Performance Insights off or past its retention, instance
 * unknown, no credentials) is a 409 of type invalid-state, as for metrics, saying which and
 * what to do.
 */
export async function readCaptureLoadFor(
  deps: LoadDeps,
  id: number,
  userId: string,
  query: { groupBy: LoadGroupBy; limit: number },
  now: Date,
): Promise<Outcome<{ load: CaptureLoad }, "not_found" | "conflict" | "upstream">> {
  const found = await findVisibleCapture(deps.db, id, userId);
  if (!found.ok) return found;
  const outcome = await readCaptureLoad(deps, found.capture, found.env, query, now);
  if (outcome.ok || outcome.kind === "upstream") return outcome;
  return { ok: false, kind: "conflict", detail: outcome.message, problemKind: "invalid-state" };
}

/** The full text of a statement of one SQL digest seen during the capture. */
export async function readSqlTextFor(
  deps: LoadDeps,
  id: number,
  userId: string,
  digestId: string,
  now: Date,
): Promise<Outcome<{ sql: SqlText }, "not_found" | "conflict" | "upstream">> {
  const found = await findVisibleCapture(deps.db, id, userId);
  if (!found.ok) return found;
  const outcome = await readSqlText(deps, found.capture, found.env, digestId, now);
  if (outcome.ok || outcome.kind === "upstream") return outcome;
  if (outcome.kind === "unknown_digest") {
    return { ok: false, kind: "not_found", detail: outcome.message };
  }
  return { ok: false, kind: "conflict", detail: outcome.message, problemKind: "invalid-state" };
}

/**
 * How long (ms, retries included) a create waits for RDS to say whether the instance exists; a
 * slower RDS leaves the capture RUNNING and unchecked, and the sweeper asks again.
 */
export const START_CHECK_BUDGET_MS = 1500;

/**
 * A capture that has just started (created RUNNING): RDS is asked, within START_CHECK_BUDGET_MS,
 * whether its instance exists; when it does not, the capture is FAILED now. Resolves to the
 * capture as it is after.
 */
export async function checkStartedCapture(
  deps: LoadDeps,
  capture: CaptureRow,
  now: number,
): Promise<CaptureRow> {
  if (capture.status !== "RUNNING") return capture;
  return await checkCaptureInstance(deps, capture, now, START_CHECK_BUDGET_MS) ?? capture;
}
