import type { Context } from "hono";
import { canManageCapture } from "../../auth/access.ts";
import {
  deleteCapture,
  findCaptureForMember,
  insertCapture,
  listCapturesForMember,
  type NewCapture,
  stopIfRunning,
  updateCaptureIfEditable,
} from "../../db/captures.ts";
import { findEnvironmentForMember } from "../../db/environments.ts";
import { statusAt } from "../../lifecycle/status.ts";
import { problem } from "../../http/problem.ts";
import type { AppEnv, AppRouteHandler } from "../../http/router.ts";
import { decodeCursor, encodeCursor, presentCapture } from "./_present.ts";
import {
  captureNotFound,
  environmentNotFound,
  forbidden,
  invalid,
  nameTaken,
} from "./_problems.ts";
import type * as routes from "./routes.ts";

export const list: AppRouteHandler<typeof routes.list> = async (c) => {
  const { db, clock } = c.var.deps;
  const query = c.req.valid("query");
  const now = clock().getTime();
  if (query.envId !== undefined && !await findEnvironmentForMember(db, query.envId, c.var.userId)) {
    return environmentNotFound(c, query.envId);
  }
  const beforeId = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
  if (query.cursor !== undefined && beforeId === undefined) {
    return invalid(c, "cursor", "is not a cursor this API gave out; copy it from the Link header");
  }
  const rows = await listCapturesForMember(db, {
    userId: c.var.userId,
    envId: query.envId,
    name: query.name,
    statuses: query.status,
    beforeId,
    limit: query.limit,
    now,
  });
  const page = rows.slice(0, query.limit);
  if (rows.length > query.limit) {
    const next = new URL(c.req.url);
    next.searchParams.set("cursor", encodeCursor(page[page.length - 1].id));
    c.header("Link", `<${next.pathname}${next.search}>; rel="next"`);
  }
  return c.json(page.map((row) => presentCapture(row, now)), 200);
};

export const get: AppRouteHandler<typeof routes.get> = async (c) => {
  const { id } = c.req.valid("param");
  const found = await findCaptureForMember(c.var.deps.db, id, c.var.userId);
  if (!found) return captureNotFound(c, id);
  return c.json(presentCapture(found.capture, c.var.deps.clock().getTime()), 200);
};

export const create: AppRouteHandler<typeof routes.create> = async (c) => {
  const { db, clock } = c.var.deps;
  const body = c.req.valid("json");
  const now = clock().getTime();
  if (!await findEnvironmentForMember(db, body.envId, c.var.userId)) {
    return environmentNotFound(c, body.envId);
  }
  const duration = body.duration ?? null;
  let fields: Pick<NewCapture, "status" | "scheduledStart" | "start" | "end">;
  if (body.scheduledStart !== undefined) {
    const scheduledStart = Date.parse(body.scheduledStart);
    if (scheduledStart <= now) {
      return invalid(
        c,
        "scheduledStart",
        "must be in the future; use start to backfill a past window",
      );
    }
    fields = { status: "SCHEDULED", scheduledStart, start: null, end: null };
  } else {
    const start = body.start === undefined ? now : Date.parse(body.start);
    if (start > now) {
      return invalid(c, "start", "is in the future; use scheduledStart to schedule a capture");
    }
    const plannedEnd = duration === null ? null : start + duration * 1000;
    const done = plannedEnd !== null && plannedEnd <= now;
    fields = {
      status: done ? "DONE" : "RUNNING",
      scheduledStart: null,
      start,
      end: done ? plannedEnd : null,
    };
  }
  const row = await insertCapture(db, {
    envId: body.envId,
    ownerId: c.var.userId,
    name: body.name,
    duration,
    reason: null,
    ...fields,
  }, now);
  if (row === "name_taken") return nameTaken(c, body.name, body.envId);
  if (row === "not_member") return environmentNotFound(c, body.envId);
  c.header("Location", `/api/captures/${row.id}`);
  return c.json(presentCapture(row, now), 201);
};

const edit: AppRouteHandler<typeof routes.put> = async (c) => {
  const { db, clock } = c.var.deps;
  const { id } = c.req.valid("param");
  const body = c.req.valid("json");
  const now = clock().getTime();
  const found = await findCaptureForMember(db, id, c.var.userId);
  if (!found) return captureNotFound(c, id);
  if (!canManageCapture(found.role, found.capture.ownerId, c.var.userId)) {
    return forbidden(c, id, "edit");
  }
  const current = statusAt(found.capture, now);
  const scheduledStart = body.scheduledStart === undefined
    ? undefined
    : Date.parse(body.scheduledStart);
  if (scheduledStart !== undefined) {
    if (current.status !== "SCHEDULED") {
      return problem(
        c,
        409,
        `Capture ${id} is ${current.status}; scheduledStart can only change while SCHEDULED`,
      );
    }
    if (scheduledStart <= now) return invalid(c, "scheduledStart", "must be in the future");
  }
  if (body.duration !== undefined) {
    if (current.status !== "SCHEDULED" && current.status !== "RUNNING") {
      return problem(
        c,
        409,
        `Capture ${id} is ${current.status}; its duration can no longer change`,
      );
    }
    const start = scheduledStart ?? current.start ?? found.capture.scheduledStart!;
    if (start + body.duration * 1000 <= now) {
      const minimum = Math.max(60, Math.floor((now - start) / 1000) + 1);
      return invalid(
        c,
        "duration",
        `would end the capture in the past; use at least ${minimum} seconds`,
      );
    }
  }
  const row = await updateCaptureIfEditable(db, id, c.var.userId, {
    name: body.name,
    scheduledStart,
    duration: body.duration,
  }, now);
  if (row === "name_taken") return nameTaken(c, body.name!, found.capture.envId);
  if (!row) {
    const refused = await refusal(c, id, "edit");
    if (refused) return refused;
    return problem(
      c,
      409,
      `Capture ${id} changed while you were editing it; read it again and retry`,
    );
  }
  return c.json(presentCapture(row, now), 200);
};

export const put = edit;
export const patch: AppRouteHandler<typeof routes.patch> = edit;

export const stop: AppRouteHandler<typeof routes.stop> = async (c) => {
  const { db, clock } = c.var.deps;
  const { id } = c.req.valid("param");
  const now = clock().getTime();
  const found = await findCaptureForMember(db, id, c.var.userId);
  if (!found) return captureNotFound(c, id);
  if (!canManageCapture(found.role, found.capture.ownerId, c.var.userId)) {
    return forbidden(c, id, "stop");
  }
  const stopped = await stopIfRunning(db, id, c.var.userId, now);
  if (stopped) return c.json(presentCapture(stopped, now), 200);

  const latest = await findCaptureForMember(db, id, c.var.userId);
  if (!latest) return captureNotFound(c, id);
  if (!canManageCapture(latest.role, latest.capture.ownerId, c.var.userId)) {
    return forbidden(c, id, "stop");
  }
  const current = statusAt(latest.capture, now);
  const why = current.status === "SCHEDULED"
    ? `Capture ${id} is SCHEDULED and has not started; delete it to cancel`
    : current.status === "DONE"
    ? `Capture ${id} is already DONE (it ended at ${new Date(current.end!).toISOString()})`
    : `Capture ${id} is ${current.status}; only a RUNNING capture can be stopped`;
  return problem(c, 409, why);
};

export const remove: AppRouteHandler<typeof routes.remove> = async (c) => {
  const { db } = c.var.deps;
  const { id } = c.req.valid("param");
  const found = await findCaptureForMember(db, id, c.var.userId);
  if (!found) return captureNotFound(c, id);
  if (!canManageCapture(found.role, found.capture.ownerId, c.var.userId)) {
    return forbidden(c, id, "delete");
  }
  if (!await deleteCapture(db, id, c.var.userId)) {
    return await refusal(c, id, "delete") ?? captureNotFound(c, id);
  }
  return c.body(null, 204);
};

/** Why a conditional change found nothing: the capture is gone (404) or no longer the caller's. */
async function refusal(c: Context<AppEnv>, id: number, action: string) {
  const latest = await findCaptureForMember(c.var.deps.db, id, c.var.userId);
  if (!latest) return captureNotFound(c, id);
  if (!canManageCapture(latest.role, latest.capture.ownerId, c.var.userId)) {
    return forbidden(c, id, action);
  }
  return undefined;
}
