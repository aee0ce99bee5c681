import type { Context } from "hono";
import { accepts } from "hono/accepts";

/** True when the Accept header prefers text/csv to JSON (Hono's q-value negotiation). */
export function wantsCsv(c: Context): boolean {
  return accepts(c, {
    header: "Accept",
    supports: ["application/json", "text/csv"],
    default: "application/json",
  }) === "text/csv";
}

/** One day: a chart or table of a finished capture's stored snapshot does not change. */
export const SNAPSHOT_MAX_AGE_SECONDS = 86_400;

/**
 * Cache-Control of an answer: long (still private: it needs a token) once it comes wholly from
 * complete snapshots, else revalidated every time, since CloudWatch may still add points.
 */
export function cacheControl(fromCompleteSnapshot: boolean): string {
  return fromCompleteSnapshot
    ? `private, max-age=${SNAPSHOT_MAX_AGE_SECONDS}`
    : "private, no-cache";
}
