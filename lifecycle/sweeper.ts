import { persistTransitions } from "../db/captures.ts";
import type { Database } from "../db/client.ts";
import type { Logger } from "../logger.ts";
import type { Clock } from "./clock.ts";

/** Takes metric snapshots of finished captures; the metrics layer provides it. */
export interface Snapshotter {
  run(now: Date): Promise<{ stored: number; failed: number }>;
}

export interface SweepResult {
  started: number[];
  finished: number[];
  snapshots: { stored: number; failed: number };
}

export interface SweeperOptions {
  db: Database;
  clock: Clock;
  logger: Logger;
  snapshotter?: Snapshotter;
  intervalMs?: number;
}

/**
 * Persists status transitions and takes snapshots once a minute: with Deno.cron where the
 * runtime has it (Deno Deploy runs it once across instances), a timer otherwise. Every write is
 * a conditional update, so overlapping sweeps from many instances do no double work.
 */
export function createSweeper(options: SweeperOptions) {
  const { db, clock, logger, snapshotter, intervalMs = 60_000 } = options;
  let controller: AbortController | undefined;
  let timer: ReturnType<typeof setInterval> | undefined;
  let running: Promise<unknown> = Promise.resolve();

  async function sweepOnce(): Promise<SweepResult> {
    const now = clock();
    const { started, finished } = await persistTransitions(db, now.getTime());
    const snapshots = snapshotter ? await snapshotter.run(now) : { stored: 0, failed: 0 };
    if (started.length || finished.length || snapshots.stored || snapshots.failed) {
      logger.info("sweep", { started, finished, snapshots });
    }
    return { started, finished, snapshots };
  }

  const tick = async () => {
    running = sweepOnce().catch((error) =>
      logger.error("sweep failed", { error: error instanceof Error ? error.stack : String(error) })
    );
    await running;
  };

  return {
    sweepOnce,
    /** Schedules sweeps; returns which scheduler is in use. */
    start(): "cron" | "timer" {
      controller = new AbortController();
      if (typeof Deno.cron === "function") {
        try {
          Deno.cron("capwatch-sweep", "* * * * *", { signal: controller.signal }, tick);
          return "cron";
        } catch (error) {
          logger.warn("Deno.cron unavailable; sweeping on a timer", { error: String(error) });
        }
      }
      timer = setInterval(tick, intervalMs);
      return "timer";
    },
    /** Stops scheduling and waits for a sweep in flight. */
    async stop() {
      controller?.abort();
      if (timer !== undefined) clearInterval(timer);
      await running;
    },
  };
}

export type Sweeper = ReturnType<typeof createSweeper>;
