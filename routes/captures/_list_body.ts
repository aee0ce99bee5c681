import type { ListedCapture } from "../../db/captures.ts";
import { statusStableUntil } from "../../lifecycle/status.ts";
import { presentCapture } from "./_present.ts";

/** A list body made from one read, valid for `userId` and `limit` over [from, until) (ms). */
interface Made {
  userId: string;
  limit: number;
  from: number;
  until: number;
  body: string;
}

// Keyed by the array of rows the database client returned: a read-result cache hands out the same
// array while nothing was written, and the array's lifetime bounds the entry's (a WeakMap holds
// neither). A fresh read is a new array and so a miss.
const made = new WeakMap<readonly ListedCapture[], Made>();

/**
 * The JSON body of a capture list at `now`: `page` (the first `limit` of `read`, the rows the
 * query returned for `userId`) presented. Remembered per `read` until the first instant any of
 * its captures changes status (lifecycle/status.ts statusStableUntil), so the same read again
 * before then costs no presenting and no JSON. The same bytes as JSON.stringify of each
 * presentCapture(row, now).
 */
export function listBody(
  read: readonly ListedCapture[],
  page: readonly ListedCapture[],
  userId: string,
  limit: number,
  now: number,
): string {
  const earlier = made.get(read);
  if (
    earlier !== undefined && earlier.userId === userId && earlier.limit === limit &&
    earlier.from <= now && now < earlier.until
  ) return earlier.body;
  let until = Infinity;
  const presented = page.map((row) => {
    until = Math.min(until, statusStableUntil(row, now));
    return presentCapture(row, now);
  });
  const body = JSON.stringify(presented);
  made.set(read, { userId, limit, from: now, until, body });
  return body;
}
