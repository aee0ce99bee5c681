/** CloudWatch clients for tests: bound to a fake, short timings, delays and events recorded. */
import assert from "node:assert/strict";
import {
  type CloudWatchClientOptions,
  CloudWatchError,
  createCloudWatchClient,
} from "../../metrics/cloudwatch.ts";
import type { FakeCloudWatch } from "../fakes/cloudwatch.ts";

/** A client on the fake that sleeps for real but records each delay (ms) and logged event. */
export function clientFor(fake: FakeCloudWatch, options: CloudWatchClientOptions = {}) {
  const delays: number[] = [];
  const events: Array<Record<string, unknown>> = [];
  const client = createCloudWatchClient({
    endpoint: fake.url,
    attemptTimeoutMs: 300,
    totalBudgetMs: 2000,
    baseDelayMs: 10,
    maxDelayMs: 40,
    sleep: (ms) => {
      delays.push(ms);
      return new Promise((r) => setTimeout(r, ms));
    },
    logger: (event) => events.push(event),
    ...options,
  });
  return { client, delays, events };
}

/** The CloudWatchError `promise` rejects with; fails the test if it resolves or throws another. */
export async function rejection(promise: Promise<unknown>): Promise<CloudWatchError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof CloudWatchError, `expected CloudWatchError, got ${err}`);
    return err;
  }
  assert.fail("expected getMetricData() to fail");
}
