import type { ListedCapture } from "../../db/captures.ts";
import { statusStableUntil } from "../../lifecycle/status.ts";
import { presentCapture } from "./_present.ts";

/** A list body made of `rows` (these very objects), valid over [from, until) (ms). */
interface Made {
  rows: readonly ListedCapture[];
  from: number;
  until: number;
  body: string;
}

// Keyed by the page's first row object: a read-result cache hands out the same row objects while
// nothing was written, and an entry lives exactly as long as that row (a WeakMap holds neither).
// A fresh read makes new objects, so it is a miss.
const made = new WeakMap<ListedCapture, Made>();

/**
 * The JSON body of a capture list at `now`: each row of `page` presented (presentCapture), the
 * same bytes as JSON.stringify of them. Remembered for the very row objects of the page until the
 * first instant any of them changes status (lifecycle/status.ts statusStableUntil); the body is a
 * function of the rows and that status alone, so the same rows again before then cost no
 * presenting and no JSON.
 */
export function listBody(page: readonly ListedCapture[], now: number): string {
  if (page.length === 0) return "[]";
  const earlier = made.get(page[0]);
  if (
    earlier !== undefined && earlier.from <= now && now < earlier.until &&
    sameObjects(earlier.rows, page)
  ) return earlier.body;
  let until = Infinity;
  const presented = page.map((row) => {
    until = Math.min(until, statusStableUntil(row, now));
    return presentCapture(row, now);
  });
  const body = JSON.stringify(presented);
  made.set(page[0], { rows: page.slice(), from: now, until, body });
  return body;
}

const sameObjects = (a: readonly object[], b: readonly object[]) =>
  a.length === b.length && a.every((row, i) => row === b[i]);
