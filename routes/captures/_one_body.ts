import type { ListedCapture } from "../../db/captures.ts";
import { statusStableUntil } from "../../lifecycle/status.ts";
import { captureETag } from "../../operations/captures.ts";
import { presentCapture } from "./_present.ts";

/** One capture's answer: its JSON body and ETag at `now` (ms), the same over [from, until). */
export interface CaptureAnswer {
  body: string;
  etag: string;
  from: number;
  until: number;
}

// Keyed by the row object itself: a read-result cache hands out the same frozen row while nothing
// was written, and a fresh read makes a new one, so an entry can never outlive its data; both maps
// are weak, so an entry goes with its row. Remembered from a row's second request on (`seen`), so a
// row read once (a cache miss, a write in between) leaves no body to promote out of V8's young
// generation.
const made = new WeakMap<ListedCapture, CaptureAnswer>();
const seen = new WeakSet<ListedCapture>();

/**
 * The JSON body (`JSON.stringify(presentCapture(row, now))`) and ETag (`captureETag(row, now)`)
 * of one capture at `now` (epoch ms). Remembered for this very row object, if it is frozen (a
 * read cache's), until the first instant its status may change (lifecycle/status.ts
 * statusStableUntil); the body and the ETag are functions of the row and that status alone.
 */
export function captureAnswer(row: ListedCapture, now: number): CaptureAnswer {
  const earlier = made.get(row);
  if (earlier !== undefined && earlier.from <= now && now < earlier.until) return earlier;
  const answer: CaptureAnswer = {
    body: JSON.stringify(presentCapture(row, now)),
    etag: captureETag(row, now),
    from: now,
    until: statusStableUntil(row, now),
  };
  if (earlier !== undefined || seen.has(row)) made.set(row, answer);
  else if (Object.isFrozen(row)) seen.add(row);
  return answer;
}
