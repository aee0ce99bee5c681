import { and, eq, lt, sql } from "drizzle-orm";
import type { Database } from "./client.ts";
import { rateLimits } from "./schema.ts";

/**
 * Counts one request of `userId` under `policy` in the fixed window starting at `windowStart`
 * (epoch ms) and answers the count including it: one UPSERT, so instances sharing the database
 * share the counter and concurrent requests each get their own number.
 */
export async function countRequest(
  db: Database,
  userId: string,
  policy: string,
  windowStart: number,
): Promise<number> {
  const [row] = await db.insert(rateLimits)
    .values({ userId, policy, windowStart, count: 1 })
    .onConflictDoUpdate({
      target: [rateLimits.userId, rateLimits.policy, rateLimits.windowStart],
      set: { count: sql`${rateLimits.count} + 1` },
    })
    .returning({ count: rateLimits.count });
  if (row.count === 1) {
    // The first request of a window clears the user's past ones, so the table stays small.
    await db.delete(rateLimits).where(and(
      eq(rateLimits.userId, userId),
      eq(rateLimits.policy, policy),
      lt(rateLimits.windowStart, windowStart),
    ));
  }
  return row.count;
}
