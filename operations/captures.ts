import { canManageCapture } from "../auth/access.ts";
import {
  type CaptureFilter,
  deleteCapture as deleteIfManageable,
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
import type { CaptureRow } from "../db/schema.ts";
import {
  editRefusal,
  initialFields,
  invalidField,
  type NewCaptureTimes,
  stopRefusal,
} from "../lifecycle/rules.ts";
import {
  type CaptureMetrics,
  type MetricsDeps,
  type MetricsQuery,
  readCaptureMetrics,
} from "../metrics/capture_metrics.ts";
import type { Outcome, Refusal } from "./outcome.ts";

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

const environmentNotFound = (envId: number): Refusal & { kind: "not_found" } => ({
  ok: false,
  kind: "not_found",
  detail: `Environment ${envId} does not exist or you are not a member of it`,
});

const nameTaken = (name: string, envId: number): Refusal & { kind: "conflict" } => ({
  ok: false,
  kind: "conflict",
  detail: `Environment ${envId} already has a capture named "${name}"; pick another name`,
});

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
  if (
    filter.envId !== undefined && !await findEnvironmentForMember(db, filter.envId, filter.userId)
  ) {
    return environmentNotFound(filter.envId);
  }
  const beforeId = cursor === undefined ? undefined : decodeCursor(cursor);
  if (cursor !== undefined && beforeId === undefined) {
    return invalidField(
      "cursor",
      "is not a cursor this API gave out; copy it from the Link header",
    );
  }
  const rows = await listCapturesForMember(db, { ...filter, beforeId });
  const page = rows.slice(0, filter.limit);
  return rows.length > filter.limit
    ? { ok: true, page, next: encodeCursor(page[page.length - 1].id) }
    : { ok: true, page };
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
): Promise<Outcome<{ capture: CaptureRow }, "not_found" | "conflict" | "invalid">> {
  const initial = initialFields(input, now);
  if (!initial.ok) {
    // An environment the caller cannot see answers 404 before any rule on the fields.
    const member = await findEnvironmentForMember(db, input.envId, userId);
    return member ? initial : environmentNotFound(input.envId);
  }
  const row = await insertCapture(db, {
    envId: input.envId,
    ownerId: userId,
    name: input.name,
    duration: input.duration,
    reason: null,
    ...initial.fields,
  }, now);
  if (row === "name_taken") return nameTaken(input.name, input.envId);
  if (row === "not_member") return environmentNotFound(input.envId);
  return { ok: true, capture: row };
}

/** An edit: a new name, scheduledStart (epoch ms) and/or duration (seconds). */
export interface CaptureEdit {
  name?: string;
  scheduledStart?: number;
  duration?: number;
}

/** Applies an edit the lifecycle rules allow (lifecycle/rules.ts editRefusal). */
export async function editCapture(
  db: Database,
  id: number,
  userId: string,
  edit: CaptureEdit,
  now: number,
): Promise<Outcome<{ capture: CaptureRow }, "not_found" | "forbidden" | "conflict" | "invalid">> {
  const row = await updateCaptureIfEditable(db, id, userId, edit, now);
  if (row !== undefined && row !== "name_taken") return { ok: true, capture: row };
  const latest = await explain(db, id, userId, "edit");
  if (!latest.ok) return latest;
  if (row === "name_taken") return nameTaken(edit.name!, latest.capture.envId);
  return editRefusal(id, latest.capture, edit, now) ?? {
    ok: false,
    kind: "conflict",
    detail: `Capture ${id} changed while you were editing it; read it again and retry`,
  };
}

/** Ends a RUNNING capture now. */
export async function stopCapture(
  db: Database,
  id: number,
  userId: string,
  now: number,
): Promise<Outcome<{ capture: CaptureRow }, "not_found" | "forbidden" | "conflict">> {
  const stopped = await stopIfRunning(db, id, userId, now);
  if (stopped) return { ok: true, capture: stopped };
  const latest = await explain(db, id, userId, "stop");
  return latest.ok ? stopRefusal(id, latest.capture, now) : latest;
}

/** Deletes a capture in any status, with its stored metrics. */
export async function deleteCapture(
  db: Database,
  id: number,
  userId: string,
): Promise<Outcome<object, "not_found" | "forbidden">> {
  if (await deleteIfManageable(db, id, userId)) return { ok: true };
  const latest = await explain(db, id, userId, "delete");
  // Manageable but not deleted: someone else deleted it in between.
  return latest.ok ? captureNotFound(id) : latest;
}

/** A capture's metrics for a member of its environment (metrics/capture_metrics.ts). */
export async function readCaptureMetricsFor(
  deps: MetricsDeps,
  id: number,
  userId: string,
  query: MetricsQuery,
  now: Date,
): Promise<
  Outcome<
    { metrics: CaptureMetrics; messages: string[] },
    "not_found" | "conflict" | "invalid" | "upstream"
  >
> {
  const found = await findCaptureForMember(deps.db, id, userId);
  const env = found && await findEnvironment(deps.db, found.capture.envId);
  if (!found || !env) return captureNotFound(id);
  const outcome = await readCaptureMetrics(deps, found.capture, env, query, now);
  if (outcome.ok) return outcome;
  switch (outcome.kind) {
    case "upstream":
      return outcome;
    case "invalid":
      return { ...outcome, detail: `Check ${outcome.field}: ${outcome.message}` };
    case "not_started":
    case "no_credentials":
    case "gone":
      return { ok: false, kind: "conflict", detail: outcome.message };
  }
}

/** An opaque cursor for "captures older than this id". */
const encodeCursor = (id: number) => btoa(`c1:${id}`).replaceAll("=", "");

/** The id inside a cursor, or undefined when it is not one of ours. */
function decodeCursor(cursor: string): number | undefined {
  try {
    const match = /^c1:(\d{1,15})$/.exec(atob(cursor));
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}
