import type { CaptureStatus } from "../vocabulary.ts";
import { type CaptureTimes, statusAt } from "./status.ts";

/** A change refused by a capture rule: 409 for the capture's status, 400 naming a field. */
export type RuleRefusal =
  | {
    ok: false;
    kind: "conflict";
    detail: string;
    status?: CaptureStatus;
    /** The problem type a client can switch on; plain "conflict" (changed meanwhile) when absent. */
    problemKind?: "name-taken" | "invalid-state" | "conflict";
  }
  | { ok: false; kind: "invalid"; field: string; message: string; detail: string };

type Conflict = Extract<RuleRefusal, { kind: "conflict" }>;
type Invalid = Extract<RuleRefusal, { kind: "invalid" }>;

/** A 400 naming `field`, whose `message` reads after "it" ("must be in the future"). */
export const invalidField = (field: string, message: string): Invalid => ({
  ok: false,
  kind: "invalid",
  field,
  message,
  detail: `Check ${field}: it ${message}`,
});

const conflict = (detail: string, status?: CaptureStatus): Conflict => ({
  ok: false,
  kind: "conflict",
  detail,
  status,
  problemKind: "invalid-state",
});

/** When a new capture starts and for how long; times in epoch ms, duration in seconds. */
export interface NewCaptureTimes {
  start?: number;
  scheduledStart?: number;
  duration: number | null;
}

/** The stored status and window a new capture begins with. */
export type InitialFields = Pick<CaptureTimes, "status" | "scheduledStart" | "start" | "end">;

/**
 * A new capture's first status at `now`: SCHEDULED for a future scheduledStart, DONE for a
 * backfilled window that has already ended, RUNNING otherwise (from `start`, default now). A
 * past scheduledStart or a future start is refused, naming the field.
 */
export function initialFields(
  input: NewCaptureTimes,
  now: number,
): { ok: true; fields: InitialFields } | RuleRefusal {
  if (input.scheduledStart !== undefined) {
    if (input.scheduledStart <= now) {
      return invalidField(
        "scheduledStart",
        "must be in the future; use start to backfill a past window",
      );
    }
    const fields = {
      status: "SCHEDULED",
      scheduledStart: input.scheduledStart,
      start: null,
      end: null,
    } as const;
    return { ok: true, fields };
  }
  const start = input.start ?? now;
  if (start > now) {
    return invalidField("start", "is in the future; use scheduledStart to schedule a capture");
  }
  const plannedEnd = input.duration === null ? null : start + input.duration * 1000;
  const done = plannedEnd !== null && plannedEnd <= now;
  return {
    ok: true,
    fields: {
      status: done ? "DONE" : "RUNNING",
      scheduledStart: null,
      start,
      end: done ? plannedEnd : null,
    },
  };
}

/** The fields of an edit that depend on the capture's state (a rename always may apply). */
export interface EditTimes {
  scheduledStart?: number;
  duration?: number;
}

/**
 * Why an edit may not apply to capture `id` as stored in `capture` at `now`, or undefined when
 * it may: scheduledStart moves only while SCHEDULED and into the future; duration changes only
 * while SCHEDULED or RUNNING, and the new end may not be in the past. The SQL twin is
 * db/captures.ts updateCaptureIfEditable.
 */
export function editRefusal(
  id: number,
  capture: CaptureTimes,
  changes: EditTimes,
  now: number,
): RuleRefusal | undefined {
  const current = statusAt(capture, now);
  const { scheduledStart, duration } = changes;
  if (scheduledStart !== undefined) {
    if (current.status !== "SCHEDULED") {
      return conflict(
        `Capture ${id} is ${current.status}; scheduledStart can only change while SCHEDULED`,
        current.status,
      );
    }
    if (scheduledStart <= now) return invalidField("scheduledStart", "must be in the future");
  }
  if (duration !== undefined) {
    if (current.status !== "SCHEDULED" && current.status !== "RUNNING") {
      return conflict(
        `Capture ${id} is ${current.status}; its duration can no longer change`,
        current.status,
      );
    }
    // The window's start as the SQL twin counts it; a capture with none has no end to move.
    const start = scheduledStart ?? capture.start ?? capture.scheduledStart;
    if (start === null) {
      return conflict(
        `Capture ${id} has no start time; its duration cannot change`,
        current.status,
      );
    }
    if (start + duration * 1000 <= now) {
      const minimum = Math.max(60, Math.floor((now - start) / 1000) + 1);
      return invalidField(
        "duration",
        `would end the capture in the past; use at least ${minimum} seconds`,
      );
    }
  }
  return undefined;
}

/** Why capture `id`, stored as `capture`, cannot be stopped at `now` (only RUNNING can). */
export function stopRefusal(id: number, capture: CaptureTimes, now: number): Conflict {
  const current = statusAt(capture, now);
  const why = current.status === "SCHEDULED"
    ? `Capture ${id} is SCHEDULED and has not started; delete it to cancel`
    : current.status === "DONE"
    ? `Capture ${id} is already DONE (it ended at ${new Date(current.end!).toISOString()})`
    : `Capture ${id} is ${current.status}; only a RUNNING capture can be stopped`;
  return conflict(why, current.status);
}
