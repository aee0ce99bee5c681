import type { ListedCapture } from "../../db/captures.ts";
import { isoTime } from "../../iso_time.ts";
import { plannedEndOf, statusAt } from "../../lifecycle/status.ts";

const iso = (ms: number | null) => (ms === null ? null : isoTime(ms));

/** The API shape of a capture at `now`, with its status computed, not just as stored. */
export function presentCapture(row: ListedCapture, now: number) {
  const effective = statusAt(row, now);
  const done = effective.status === "DONE" && effective.start !== null && effective.end !== null;
  return {
    id: row.id,
    envId: row.envId,
    ownerId: row.ownerId,
    name: row.name,
    status: effective.status,
    scheduledStart: iso(row.scheduledStart),
    scheduledEnd: iso(plannedEndOf(row)),
    start: iso(effective.start),
    end: iso(effective.end),
    duration: done ? Math.round((effective.end! - effective.start!) / 1000) : row.duration,
    reason: row.reason,
    createdAt: isoTime(row.createdAt),
    updatedAt: isoTime(row.updatedAt),
  };
}
