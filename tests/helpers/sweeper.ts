import { createSweeper } from "../../lifecycle/sweeper.ts";
import { createSnapshotter } from "../../metrics/snapshotter.ts";
import type { TestContext } from "./context.ts";

/**
 * The sweeper of the issue, with the snapshotter wired to the context's fake-bound client;
 * `snapshotBytesPerEnvironment` overrides the context's QUOTA_SNAPSHOT_BYTES_PER_ENVIRONMENT.
 */
export function sweeperFor(t: TestContext, options: { snapshotBytesPerEnvironment?: number } = {}) {
  const snapshotter = createSnapshotter({
    db: t.db,
    cloudwatch: t.deps.cloudwatch,
    serverCredentials: t.config.awsCredentials,
    cipher: t.deps.credentialsCipher,
    logger: t.deps.logger,
    snapshotBytesPerEnvironment: options.snapshotBytesPerEnvironment ??
      t.config.quotas.snapshotBytesPerEnvironment,
  });
  return createSweeper({ db: t.db, clock: t.clock, logger: t.deps.logger, snapshotter });
}
