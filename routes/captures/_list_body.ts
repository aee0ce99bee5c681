import type { ListedCapture } from "../../db/captures.ts";
import type { Database } from "../../db/client.ts";
import { preparedPerDatabase } from "../../db/prepared.ts";
import { statusStableUntil } from "../../lifecycle/status.ts";
import { presentCapture } from "./_present.ts";

/** A list body made of `rows` (these very objects), valid over [from, until) (ms). */
interface Made {
  rows: readonly ListedCapture[];
  from: number;
  until: number;
  body: string;
  bytes: number;
}

/** Bodies remembered at most; the least recently used is forgotten first. */
export const LIST_BODIES_KEPT = 16;
/** The most the remembered bodies (and the rows they hold on to) may take, estimated, in bytes. */
export const LIST_BODIES_BYTES = 1024 * 1024;
/** A row's estimated size in memory: an object of 13 fields with its strings. */
const ROW_BYTES = 400;

// Keyed by the page's first row object: a read-result cache hands out the same row objects while
// nothing was written; a fresh read makes new objects. A page is remembered only once its first
// row comes again (`seen` holds the last few first rows): whatever outlives its request is
// promoted out of V8's young generation, and keeping every page for a while (a WeakMap of all,
// or a map of the last 16) let the process grow by 80-100 MB under a list load without such a
// cache, for nothing.
const SEEN_KEPT = 16;

/**
 * Remembered list bodies (see `body`), bounded by LIST_BODIES_KEPT and LIST_BODIES_BYTES, least
 * recently used forgotten first.
 */
export function createListBodies() {
  const made = new Map<ListedCapture, Made>();
  let bytesHeld = 0;
  const seen: ListedCapture[] = [];

  function remember(key: ListedCapture, entry: Made) {
    made.set(key, entry);
    bytesHeld += entry.bytes;
    for (const [oldest, old] of made) {
      if (made.size <= LIST_BODIES_KEPT && bytesHeld <= LIST_BODIES_BYTES) break;
      forget(oldest, old);
    }
  }

  function forget(key: ListedCapture, entry: Made) {
    made.delete(key);
    bytesHeld -= entry.bytes;
  }

  return {
    /**
     * The JSON body of a capture list at `now`: each row of `page` presented (presentCapture),
     * the same bytes as JSON.stringify of them. Remembered for the very row objects of the page
     * until the first instant any of them changes status (lifecycle/status.ts statusStableUntil);
     * the body is a function of the rows and that status alone, so the same rows again before
     * then cost no presenting and no JSON.
     */
    body(page: readonly ListedCapture[], now: number): string {
      if (page.length === 0) return "[]";
      const key = page[0];
      const earlier = made.get(key);
      if (earlier !== undefined) {
        forget(key, earlier);
        if (earlier.from <= now && now < earlier.until && sameObjects(earlier.rows, page)) {
          remember(key, earlier);
          return earlier.body;
        }
      }
      let until = Infinity;
      const presented = page.map((row) => {
        until = Math.min(until, statusStableUntil(row, now));
        return presentCapture(row, now);
      });
      const body = JSON.stringify(presented);
      const bytes = body.length + ROW_BYTES * page.length;
      if (earlier === undefined && !seen.includes(key)) {
        if (seen.push(key) > SEEN_KEPT) seen.shift();
      } else if (bytes <= LIST_BODIES_BYTES / 4) {
        remember(key, { rows: page.slice(), from: now, until, body, bytes });
      }
      return body;
    },
    /** How many bodies and estimated bytes are remembered now (for tests). */
    held: () => ({ entries: made.size, bytes: bytesHeld }),
  };
}

/** Remembered list bodies (createListBodies). */
export type ListBodies = ReturnType<typeof createListBodies>;

/** The remembered list bodies of `db`, made on first use (its read cache hands out the rows). */
export const listBodiesOf: (db: Database) => ListBodies = preparedPerDatabase(createListBodies);

const sameObjects = (a: readonly object[], b: readonly object[]) =>
  a.length === b.length && a.every((row, i) => row === b[i]);
