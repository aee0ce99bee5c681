/**
 * What an environment's stored snapshots weigh, for QUOTA_SNAPSHOT_BYTES_PER_ENVIRONMENT (issue 17
 * point 5): the bytes of every stored series (CloudWatch datapoints; load totals, group datapoints,
 * stats, statements and full statement texts) of its captures.
 */
import { type SQL, sql } from "drizzle-orm";
import type { Database } from "./client.ts";
import {
  captureLoadGroups,
  captureLoadSnapshots,
  captures,
  captureSnapshotSeries,
} from "./schema.ts";

/**
 * The stored snapshot bytes of environment `envId`, as an SQL expression to use inside a
 * conditional statement. octet_length reads a value's size from its record header, not its text.
 */
function environmentSnapshotBytes(envId: number): SQL<number> {
  const ofEnv = sql`(select ${captures.id} from ${captures} where ${captures.envId} = ${envId})`;
  return sql<number>`(
    (select coalesce(sum(octet_length(${captureSnapshotSeries.datapoints})), 0)
       from ${captureSnapshotSeries} where ${captureSnapshotSeries.captureId} in ${ofEnv})
    + (select coalesce(sum(octet_length(${captureLoadSnapshots.total})), 0)
       from ${captureLoadSnapshots} where ${captureLoadSnapshots.captureId} in ${ofEnv})
    + (select coalesce(sum(octet_length(${captureLoadGroups.datapoints})
         + coalesce(octet_length(${captureLoadGroups.stats}), 0)
         + coalesce(octet_length(${captureLoadGroups.statement}), 0)
         + coalesce(octet_length(${captureLoadGroups.fullStatement}), 0)), 0)
       from ${captureLoadGroups} where ${captureLoadGroups.captureId} in ${ofEnv})
  )`;
}

/** The stored snapshot bytes of environment `envId` now. */
export async function storedSnapshotBytes(db: Database, envId: number): Promise<number> {
  const row = await db.get<{ bytes: number }>(
    sql`select ${environmentSnapshotBytes(envId)} as bytes`,
  );
  return Number(row.bytes);
}

/** The UTF-8 size of a stored text in bytes, as octet_length counts it; null weighs nothing. */
export function textBytes(text: string | null): number {
  return text === null ? 0 : new TextEncoder().encode(text).byteLength;
}

/**
 * The condition that keeps environment `envId` within `limit` bytes after adding `adding`; true
 * when there is no limit (0 or undefined).
 */
export function fitsQuota(quota: SnapshotQuota | undefined, adding: number): SQL {
  if (!quota || quota.limit <= 0) return sql`1`;
  return sql`${environmentSnapshotBytes(quota.envId)} + ${adding} <= ${quota.limit}`;
}

/** The snapshot bytes an environment may hold (QUOTA_SNAPSHOT_BYTES_PER_ENVIRONMENT; 0: no limit). */
export interface SnapshotQuota {
  envId: number;
  limit: number;
}
