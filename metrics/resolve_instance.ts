/**
 * What capwatch learns of an environment's instance from RDS DescribeDBInstances: its
 * DbiResourceId (Performance Insights' Identifier), whether PI is on and how long it keeps data,
 * and whether the instance exists at all. A failed lookup never fails the request that asked; it
 * leaves the environment `pending` with the reason and is asked again lazily.
 */
import type { Database } from "../db/client.ts";
import { capturesAwaitingInstanceCheck, failCapture, markInstanceChecked } from "../db/captures.ts";
import type { InstanceChecker } from "../lifecycle/sweeper.ts";
import { findEnvironment } from "../db/environments.ts";
import {
  clearInstanceResolution,
  type InstanceResolution,
  saveInstanceResolution,
  UNRESOLVED,
} from "../db/instance_resolution.ts";
import type { CaptureRow, EnvironmentRow } from "../db/schema.ts";
import { AwsError } from "./_cloudwatch_error.ts";
import type { CredentialProvider } from "./credentials.ts";
import type { RdsClient } from "./rds.ts";

/** What a lookup needs: the database, the RDS client and the process's credential provider. */
export interface InstanceDeps {
  db: Database;
  /** Absent: nothing is looked up (the environment stays as it is). */
  rds?: RdsClient;
  credentials: CredentialProvider;
}

/** A lookup after which a `pending` environment is asked again lazily, in ms. */
export const RETRY_LOOKUP_MS = 60_000;

/** DBInstanceStatus values after which the instance will not serve a capture. */
const GOING_AWAY = new Set(["deleting", "deleted"]);

/** The outcome of asking RDS once, before it is stored. */
export type Lookup =
  | { kind: "resolved"; resolution: InstanceResolution }
  | { kind: "not_found"; resolution: InstanceResolution }
  | { kind: "unknown"; resolution: InstanceResolution; error?: AwsError };

/**
 * Asks RDS about the environment's instance (within `budgetMs` when given); never throws for an
 * AWS or credential failure.
 */
export async function lookUpInstance(
  deps: InstanceDeps & { rds: RdsClient },
  env: EnvironmentRow,
  now: number,
  budgetMs?: number,
): Promise<Lookup> {
  const pending = (reason: string, error?: AwsError): Lookup => ({
    kind: "unknown",
    error,
    resolution: { ...empty(now), status: "pending", reason },
  });
  const resolved = await deps.credentials.resolve(env);
  if (!resolved.ok) {
    return resolved.error
      ? pending(describe(resolved.error), resolved.error)
      : pending(resolved.message);
  }
  try {
    const answer = await deps.rds.describeInstance({
      region: env.region,
      credentials: resolved.credentials,
      dbInstanceIdentifier: env.dbInstanceIdentifier,
      budgetMs,
    });
    if (!answer.found) {
      return {
        kind: "not_found",
        resolution: {
          ...empty(now),
          status: "not_found",
          reason: `${answer.message}; check dbInstanceIdentifier (${env.dbInstanceIdentifier}) ` +
            `and region (${env.region}) and PATCH the environment`,
        },
      };
    }
    const i = answer.instance;
    return {
      kind: "resolved",
      resolution: {
        status: "resolved",
        reason: GOING_AWAY.has(i.status) ? `RDS says the instance is ${i.status}` : null,
        dbiResourceId: i.dbiResourceId,
        engine: i.engine,
        piEnabled: i.performanceInsightsEnabled,
        piRetentionDays: i.performanceInsightsRetentionDays,
        resolvedAt: now,
      },
    };
  } catch (error) {
    if (error instanceof AwsError) return pending(describe(error), error);
    throw error;
  }
}

/** Looks the instance up and stores the answer; resolves to the environment as stored after. */
export async function resolveInstance(
  deps: InstanceDeps,
  env: EnvironmentRow,
  now: number,
  budgetMs?: number,
): Promise<{ env: EnvironmentRow; lookup: Lookup }> {
  if (!deps.rds) {
    return {
      env,
      lookup: {
        kind: "unknown",
        resolution: { ...empty(now), status: "pending", reason: "not looked up" },
      },
    };
  }
  const lookup = await lookUpInstance({ ...deps, rds: deps.rds }, env, now, budgetMs);
  // A transient failure does not overwrite what RDS already said of the same instance.
  if (lookup.kind === "unknown" && env.resolutionStatus === "resolved") return { env, lookup };
  // The same answer stored less than RETRY_LOOKUP_MS ago is not written again: a capture starting
  // now asks on every create, and rewriting an unchanged row made each such POST two writes.
  if (storedRecently(env, lookup.resolution, now)) return { env, lookup };
  const saved = await saveInstanceResolution(deps.db, env, lookup.resolution);
  return { env: saved ?? env, lookup };
}

/**
 * Whether `env` already holds `resolution` (all but its time), stored less than RETRY_LOOKUP_MS
 * before `now`; resolvedAt then stays at the first of those identical answers, so a lazy lookup
 * (ensureResolved) may come up to RETRY_LOOKUP_MS sooner than the last identical one would allow.
 */
function storedRecently(env: EnvironmentRow, resolution: InstanceResolution, now: number) {
  return env.resolvedAt !== null && now - env.resolvedAt < RETRY_LOOKUP_MS &&
    env.resolutionStatus === resolution.status &&
    env.resolutionReason === resolution.reason &&
    env.dbiResourceId === resolution.dbiResourceId &&
    env.engine === resolution.engine &&
    env.piEnabled === resolution.piEnabled &&
    env.piRetentionDays === resolution.piRetentionDays;
}

/**
 * The environment with a usable lookup: as stored when resolved (or looked up within
 * RETRY_LOOKUP_MS), else looked up now. Used lazily by the load endpoint.
 */
export async function ensureResolved(
  deps: InstanceDeps,
  env: EnvironmentRow,
  now: number,
): Promise<{ env: EnvironmentRow; lookup?: Lookup }> {
  if (env.resolutionStatus === "resolved") return { env };
  if (env.resolvedAt !== null && now - env.resolvedAt < RETRY_LOOKUP_MS) return { env };
  return await resolveInstance(deps, env, now);
}

/**
 * Checks a capture's instance when it starts: when RDS says it does not exist (or is being
 * deleted) the capture becomes FAILED with that reason; when RDS confirms it, the check is done;
 * any other failure (RDS slower than `budgetMs` too) leaves it to be asked again (the sweeper).
 * Resolves to the FAILED row, if any.
 */
export async function checkCaptureInstance(
  deps: InstanceDeps,
  capture: Pick<CaptureRow, "id" | "envId">,
  now: number,
  budgetMs?: number,
): Promise<CaptureRow | undefined> {
  const env = deps.rds && await findEnvironment(deps.db, capture.envId);
  if (!env) return undefined;
  const { lookup } = await resolveInstance(deps, env, now, budgetMs);
  if (lookup.kind === "not_found") {
    return await failCapture(deps.db, capture.id, lookup.resolution.reason!, now);
  }
  if (lookup.kind === "resolved") {
    if (lookup.resolution.reason !== null) {
      return await failCapture(deps.db, capture.id, lookup.resolution.reason, now);
    }
    await markInstanceChecked(deps.db, capture.id, now);
  }
  return undefined;
}

function empty(now: number): Omit<InstanceResolution, "status" | "reason"> {
  return {
    dbiResourceId: null,
    engine: null,
    piEnabled: null,
    piRetentionDays: null,
    resolvedAt: now,
  };
}

function describe(error: AwsError): string {
  return `${error.service}${error.code ? ` ${error.code}` : ""}: ${error.message}`;
}

/** After the instance, region or credentials changed: forgets the old lookup, then asks again. */
export async function reresolveInstance(
  deps: InstanceDeps,
  env: EnvironmentRow,
  now: number,
): Promise<EnvironmentRow> {
  await clearInstanceResolution(deps.db, env.id);
  const cleared: EnvironmentRow = { ...env, ...UNRESOLVED };
  return (await resolveInstance(deps, cleared, now)).env;
}

/** Captures checked per sweep. */
const CHECKS_PER_SWEEP = 10;

/**
 * The sweeper's producer of FAILED: started captures whose instance RDS has not confirmed are
 * checked (checkCaptureInstance); transient failures leave them for the next sweep.
 */
export function createInstanceChecker(deps: InstanceDeps): InstanceChecker {
  return {
    async run(now) {
      const failed: number[] = [];
      if (!deps.rds) return { failed };
      const at = now.getTime();
      for (const capture of await capturesAwaitingInstanceCheck(deps.db, at, CHECKS_PER_SWEEP)) {
        const row = await checkCaptureInstance(deps, capture, at);
        if (row) failed.push(row.id);
      }
      return { failed };
    },
  };
}
