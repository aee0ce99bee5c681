/**
 * A capture created starting now asks RDS about its instance on every create; an answer equal to
 * the one the environment stored less than RETRY_LOOKUP_MS ago is not written again (it made every
 * such POST two writes), while a changed or older one is.
 */
import assert from "node:assert/strict";
import { eq } from "drizzle-orm";
import { captures, environments } from "../db/schema.ts";
import { RETRY_LOOKUP_MS } from "../metrics/resolve_instance.ts";
import { fakeCloudWatchEnv } from "./fakes/cloudwatch.ts";
import { FAKE_INSTANCE_ID, startFakeRds } from "./fakes/rds.ts";
import { type TestContext, testContext } from "./helpers/context.ts";

const NOW = Date.parse("2026-01-15T12:00:00Z");

async function createNow(t: TestContext, envId: number) {
  const res = await t.as("owner").post("/api/captures", {
    name: `c-${crypto.randomUUID().slice(0, 8)}`,
    envId,
    duration: 3600,
  });
  const text = await res.text();
  assert.equal(res.status, 201, text);
  return JSON.parse(text) as { id: number; status: string; reason: string | null };
}

async function storedEnvironment(t: TestContext, id: number) {
  const [row] = await t.db.select().from(environments).where(eq(environments.id, id));
  return row;
}

Deno.test("each create starting now asks RDS; the same answer is stored again only after RETRY_LOOKUP_MS, a new one at once", async () => {
  await using rds = await startFakeRds();
  await using t = await testContext({
    now: new Date(NOW).toISOString(),
    env: { ...fakeCloudWatchEnv({ url: "http://127.0.0.1:9/" }), RDS_ENDPOINT: rds.url },
  });
  const env = await t.createEnvironment("owner", { dbInstanceIdentifier: FAKE_INSTANCE_ID });
  assert.equal((await storedEnvironment(t, env.id)).resolvedAt, NOW);

  t.clock.set(new Date(NOW + 10_000));
  const calls = rds.calls.length;
  const first = await createNow(t, env.id);
  assert.equal(first.status, "RUNNING");
  assert.equal(rds.calls.length, calls + 1, "the create asked RDS");
  const [checked] = await t.db.select().from(captures).where(eq(captures.id, first.id));
  assert.equal(checked.instanceCheckedAt, NOW + 10_000, "RDS's answer confirmed the capture");
  assert.equal((await storedEnvironment(t, env.id)).resolvedAt, NOW, "same answer: not written");

  t.clock.set(new Date(NOW + RETRY_LOOKUP_MS + 1_000));
  await createNow(t, env.id);
  assert.equal((await storedEnvironment(t, env.id)).resolvedAt, NOW + RETRY_LOOKUP_MS + 1_000);

  // A different answer is written at once, however recent the stored one.
  rds.instances.get(FAKE_INSTANCE_ID)!.status = "deleting";
  t.clock.set(new Date(NOW + RETRY_LOOKUP_MS + 2_000));
  const failed = await createNow(t, env.id);
  assert.equal(failed.status, "FAILED");
  const stored = await storedEnvironment(t, env.id);
  assert.match(stored.resolutionReason ?? "", /deleting/);
  assert.equal(stored.resolvedAt, NOW + RETRY_LOOKUP_MS + 2_000);
});

Deno.test("without AWS credentials the pending answer is stored once per RETRY_LOOKUP_MS, and creates still answer 201", async () => {
  await using rds = await startFakeRds();
  await using t = await testContext({
    now: new Date(NOW).toISOString(),
    env: { RDS_ENDPOINT: rds.url },
  });
  const env = await t.createEnvironment("owner");
  const before = await storedEnvironment(t, env.id);
  assert.equal(before.resolutionStatus, "pending");
  assert.equal(before.resolvedAt, NOW);

  t.clock.set(new Date(NOW + 30_000));
  assert.equal((await createNow(t, env.id)).status, "RUNNING");
  const after = await storedEnvironment(t, env.id);
  assert.equal(after.resolvedAt, NOW);
  assert.equal(after.version, before.version);

  t.clock.set(new Date(NOW + RETRY_LOOKUP_MS));
  assert.equal((await createNow(t, env.id)).status, "RUNNING");
  assert.equal((await storedEnvironment(t, env.id)).resolvedAt, NOW + RETRY_LOOKUP_MS);
  assert.equal(rds.calls.length, 0, "no credentials: RDS is never called");
});
