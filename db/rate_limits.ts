import { and, eq, lt, sql } from "drizzle-orm";
import type { Database } from "./client.ts";
import { preparedPerDatabase } from "./prepared.ts";
import { rateLimits } from "./schema.ts";

/**
 * How long (ms, of the caller's clock) an instance may count requests in memory before it adds
 * them to the shared row: the other instances learn of them at most this late.
 */
export const RATE_LIMIT_FLUSH_MS = 250;

/** One user's counter for one policy in this process, for the window starting at `windowStart`. */
interface LocalCounter {
  windowStart: number;
  /** The shared row's count as the last write returned it. */
  known: number;
  /** Requests counted here and being added to the shared row right now. */
  flushing: number;
  /** Requests counted here and not yet added to the shared row. */
  unflushed: number;
  /** When (ms) this process last wrote the row. */
  flushedAt: number;
}

// Per database, so two apps on their own connections (two instances in a test) count apart.
const counters = preparedPerDatabase(() => ({
  byUser: new Map<string, LocalCounter>(),
  /** The window the last sweep of ended ones was for (ms). */
  sweptFor: 0,
}));

/**
 * Counts one request of `userId` under `policy` in the fixed window starting at `windowStart`
 * (epoch ms) at `now` (ms) and answers the count including it, as far as this instance knows.
 * Instances share the count through one row per user, policy and window; each adds its requests
 * to it with one UPSERT per RATE_LIMIT_FLUSH_MS instead of one per request (a write, and an
 * fsync, per metrics read). The first request of a window in this process always writes, so it
 * starts from the shared count; the others decide from that count plus the requests counted
 * here since. Another instance's requests reach the decision within one flush interval, so all
 * instances together admit at most (instances − 1) × (requests per instance per flush interval)
 * more than the limit.
 */
export async function countRequest(
  db: Database,
  userId: string,
  policy: string,
  windowStart: number,
  now: number,
): Promise<number> {
  const local = counters(db);
  const byUser = local.byUser;
  const key = `${policy}\u0000${userId}`;
  let counter = byUser.get(key);
  if (counter === undefined || counter.windowStart !== windowStart) {
    if (counter !== undefined && counter.windowStart > windowStart) {
      // A clock that stepped back: count in the row of the window it names, as before.
      return await addToRow(db, userId, policy, windowStart, 1);
    }
    if (windowStart > local.sweptFor) {
      local.sweptFor = windowStart;
      forgetEndedWindows(byUser, windowStart);
    }
    const count = await addToRow(db, userId, policy, windowStart, 1);
    counter = byUser.get(key);
    // A concurrent first request of this window may have set it up already; keep the larger.
    if (counter === undefined || counter.windowStart !== windowStart) {
      byUser.set(key, { windowStart, known: count, flushing: 0, unflushed: 0, flushedAt: now });
    } else if (count > counter.known) counter.known = count;
    return count;
  }
  counter.unflushed++;
  const estimate = counter.known + counter.flushing + counter.unflushed;
  if (counter.flushing > 0 || now - counter.flushedAt < RATE_LIMIT_FLUSH_MS) return estimate;
  const adding = counter.unflushed;
  counter.unflushed = 0;
  counter.flushing = adding;
  counter.flushedAt = now;
  try {
    const count = await addToRow(db, userId, policy, windowStart, adding);
    counter.known = Math.max(counter.known, count);
  } catch (error) {
    counter.unflushed += adding;
    throw error;
  } finally {
    counter.flushing = 0;
  }
  // Fresh from the shared row: this request and every other instance's flushed ones, plus what
  // arrived here while it was written.
  return counter.known + counter.unflushed;
}

/** Drops counters of windows before `windowStart`: their rows no longer decide anything. */
function forgetEndedWindows(byUser: Map<string, LocalCounter>, windowStart: number) {
  for (const [key, counter] of byUser) {
    if (counter.windowStart < windowStart) byUser.delete(key);
  }
}

/** Adds `requests` to the shared row and answers its count (one UPSERT). */
async function addToRow(
  db: Database,
  userId: string,
  policy: string,
  windowStart: number,
  requests: number,
): Promise<number> {
  const [row] = await db.insert(rateLimits)
    .values({ userId, policy, windowStart, count: requests })
    .onConflictDoUpdate({
      target: [rateLimits.userId, rateLimits.policy, rateLimits.windowStart],
      set: { count: sql`${rateLimits.count} + ${requests}` },
    })
    .returning({ count: rateLimits.count });
  if (row.count === requests) {
    // The first write of a window clears the user's past ones, so the table stays small.
    await db.delete(rateLimits).where(and(
      eq(rateLimits.userId, userId),
      eq(rateLimits.policy, policy),
      lt(rateLimits.windowStart, windowStart),
    ));
  }
  return row.count;
}
