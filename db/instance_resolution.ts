import { and, eq } from "drizzle-orm";
import type { Database } from "./client.ts";
import { type EnvironmentRow, environments } from "./schema.ts";
import type { ResolutionStatus } from "../vocabulary.ts";

/** What one DescribeDBInstances lookup found for an environment's instance. */
export interface InstanceResolution {
  status: ResolutionStatus;
  reason: string | null;
  dbiResourceId: string | null;
  engine: string | null;
  piEnabled: boolean | null;
  piRetentionDays: number | null;
  /** Epoch ms (UTC). */
  resolvedAt: number;
}

/**
 * Stores a lookup on the environment, only if it still names the instance that was looked up
 * (a PATCH in between wins); resolves to the updated row, or undefined when nothing was written.
 */
export async function saveInstanceResolution(
  db: Database,
  looked: Pick<EnvironmentRow, "id" | "region" | "dbInstanceIdentifier">,
  resolution: InstanceResolution,
): Promise<EnvironmentRow | undefined> {
  const [row] = await db.update(environments).set({
    resolutionStatus: resolution.status,
    resolutionReason: resolution.reason,
    dbiResourceId: resolution.dbiResourceId,
    engine: resolution.engine,
    piEnabled: resolution.piEnabled,
    piRetentionDays: resolution.piRetentionDays,
    resolvedAt: resolution.resolvedAt,
  }).where(and(
    eq(environments.id, looked.id),
    eq(environments.region, looked.region),
    eq(environments.dbInstanceIdentifier, looked.dbInstanceIdentifier),
  )).returning();
  return row;
}

/** An environment's lookup columns as before any lookup: the one list of them. */
export const UNRESOLVED = {
  resolutionStatus: null,
  resolutionReason: null,
  dbiResourceId: null,
  engine: null,
  piEnabled: null,
  piRetentionDays: null,
  resolvedAt: null,
} as const satisfies Partial<EnvironmentRow>;

/** Forgets a lookup after the instance, region or credentials changed, so the next use asks. */
export async function clearInstanceResolution(db: Database, envId: number): Promise<void> {
  await db.update(environments).set(UNRESOLVED).where(eq(environments.id, envId));
}
