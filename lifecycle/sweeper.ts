import { persistTransitions } from "../db/captures.ts";
import type { Database } from "../db/client.ts";
import { sweepExpiredKeys } from "../db/idempotency.ts";
import type { Logger } from "../logger.ts";
import type { Clock } from "./clock.ts";

/** Takes metric snapshots of finished captures; the metrics layer provides it. */
export interface Snapshotter {
  run(now: Date): Promise<{ stored: number; failed: number }>;
}

/** Checks started captures' instances and fails those whose instance is gone (metrics layer). */
export interface InstanceChecker {
  run(now: Date): Promise<{ failed: number[] }>;
}

export interface SweepResult {
  started: number[];
  finished: number[];
  /** Captures FAILED because RDS says their instance does not exist. */
  failed: number[];
  snapshots: { stored: number; failed: number };
}

/** Re-encrypts stored secrets during a key rotation (lifecycle/reencrypt_credentials.ts). */
export interface CredentialsRotation {
  run(): Promise<unknown>;
}

export interface SweeperOptions {
  db: Database;
  clock: Clock;
  logger: Logger;
  snapshotter?: Snapshotter;
  instanceChecker?: InstanceChecker;
  /** Run on every sweep while a rotation is under way, after the captures' work. */
  credentialsRotation?: CredentialsRotation;
  intervalMs?: number;
}

/**
 * Persists status transitions, fails captures whose instance is gone, deletes expired
 * Idempotency-Keys, takes snapshots and re-encrypts during a key rotation. main.ts schedules
 * `sweep` once a minute (with Deno.cron where the runtime has it, else `startTimer`). Every write
 * is a conditional update, so overlapping sweeps from many instances do no double work.
 */
export function createSweeper(options: SweeperOptions) {
  const { db, clock, logger, snapshotter, instanceChecker, credentialsRotation } = options;
  const { intervalMs = 60_000 } = options;
  let timer: ReturnType<typeof setInterval> | undefined;
  let inFlight: Promise<unknown> = Promise.resolve();

  async function sweepOnce(): Promise<SweepResult> {
    const now = clock();
    const { started, finished } = await persistTransitions(db, now.getTime());
    const { failed } = instanceChecker ? await instanceChecker.run(now) : { failed: [] };
    const expiredKeys = await sweepExpiredKeys(db, now.getTime());
    if (expiredKeys > 0) logger.debug("idempotency keys expired", { count: expiredKeys });
    const snapshots = snapshotter ? await snapshotter.run(now) : { stored: 0, failed: 0 };
    // Logs for itself; a failure here must not hide the sweep's own result.
    await credentialsRotation?.run().catch((error) =>
      logger.warn("re-encrypting credentials failed", { error: String(error) })
    );
    if (
      started.length || finished.length || failed.length || snapshots.stored || snapshots.failed
    ) {
      logger.info("sweep", { started, finished, failed, snapshots });
    }
    return { started, finished, failed, snapshots };
  }

  /** One sweep whose failure is logged, not thrown; `stop` waits for every one in flight. */
  function sweep(): Promise<unknown> {
    const next = sweepOnce().catch((error) =>
      logger.error("sweep failed", { error: error instanceof Error ? error.stack : String(error) })
    );
    inFlight = Promise.all([inFlight, next]);
    return next;
  }

  return {
    sweepOnce,
    sweep,
    /** Sweeps every `intervalMs`, for runtimes without Deno.cron. */
    startTimer() {
      timer ??= setInterval(sweep, intervalMs);
    },
    /** Stops the timer and waits for the sweeps in flight. */
    async stop() {
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
      await inFlight;
    },
  };
}

export type Sweeper = ReturnType<typeof createSweeper>;
