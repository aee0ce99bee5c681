// Snapshot reads are remembered (metrics/snapshot_cache.ts), yet every request still passes the
// access check first: a refused caller, a removed member and a deleted capture never see an entry,
// and two databases in one process never share one.
import assert from "node:assert/strict";
import { and, eq } from "drizzle-orm";
import { captureSnapshotSeries } from "../db/schema.ts";
import { METRIC_TYPES } from "../metrics/catalogue.ts";
import { ByteBoundedCache } from "../metrics/snapshot_cache.ts";
import { seriesFromSnapshot } from "../metrics/snapshot_series.ts";
import { type TestContext, testContext } from "./helpers/context.ts";
import { captureWithSnapshot } from "./helpers/snapshot_capture.ts";

const NOW = "2026-03-01T00:00:00Z";
const HOUR_MS = 3_600_000;

const metricsPath = (id: number) => `/api/captures/${id}/metrics?type=CPUUtilization`;

async function readValues(t: TestContext, user: string, id: number) {
  const res = await t.as(user).get(metricsPath(id));
  const body = await res.json();
  if (res.status !== 200) return res.status;
  assert.equal(body.source, "snapshot");
  return body.series[0].datapoints.map((p: { value: number }) => p.value);
}

Deno.test("a cached snapshot read is refused to a non-member, a removed member and after delete", async () => {
  await using t = await testContext({ now: NOW });
  const env = await t.createEnvironment("owner");
  await t.addMember(env.id, "mia", "member");
  const { id } = await captureWithSnapshot(t, env.id, 42);
  const first = await readValues(t, "owner", id);
  assert.deepEqual(first, Array(60).fill(42));
  assert.deepEqual(await readValues(t, "owner", id), first, "the same answer again");
  assert.deepEqual(await readValues(t, "mia", id), first);

  assert.equal(await readValues(t, "stranger", id), 404);
  const removed = await t.as("owner").delete(`/api/environments/${env.id}/members/mia`);
  assert.equal(removed.status, 204);
  assert.equal(await readValues(t, "mia", id), 404);

  assert.equal((await t.as("owner").delete(`/api/captures/${id}`)).status, 204);
  assert.equal(await readValues(t, "owner", id), 404);
  assert.equal((await t.as("owner").get(`/api/captures/${id}/metrics`)).status, 404);
});

Deno.test("two databases in one process never share a cached snapshot read", async () => {
  await using a = await testContext({ now: NOW });
  await using b = await testContext({ now: NOW });
  const envA = await a.createEnvironment("owner");
  const envB = await b.createEnvironment("owner");
  const { id: idA } = await captureWithSnapshot(a, envA.id, 1);
  const { id: idB } = await captureWithSnapshot(b, envB.id, 2);
  assert.equal(idA, idB, "the same capture id in both");
  assert.deepEqual(await readValues(a, "owner", idA), Array(60).fill(1));
  assert.deepEqual(await readValues(b, "owner", idB), Array(60).fill(2));
  assert.deepEqual(await readValues(a, "owner", idA), Array(60).fill(1));
});

Deno.test("ByteBoundedCache forgets the least recently used past its bound, and keeps no giant", () => {
  const cache = new ByteBoundedCache<string>(100);
  cache.set("a", "A", 25);
  cache.set("b", "B", 20);
  assert.equal(cache.get("a"), "A"); // a is now the most recently used
  cache.set("c", "C", 25);
  cache.set("d", "D", 25);
  assert.equal(cache.bytes, 95);
  cache.set("e", "E", 20);
  assert.equal(cache.get("b"), undefined, "b was least recently used");
  assert.equal(cache.bytes, 95);
  for (const key of ["a", "c", "d", "e"]) assert.equal(cache.get(key), key.toUpperCase());
  cache.set("huge", "H", 26);
  assert.equal(cache.get("huge"), undefined, "over a quarter of the bound is not kept");
  cache.set("a", "A2", 10);
  assert.equal(cache.get("a"), "A2");
  assert.equal(cache.bytes, 10 + 25 + 25 + 20);
  cache.delete("a");
  assert.equal(cache.size, 3);
});

Deno.test("a snapshot lacking a series: a cached read equals the uncached one, the lacking named", async () => {
  await using t = await testContext({ now: NOW });
  const env = await t.createEnvironment("owner");
  const { id } = await captureWithSnapshot(t, env.id, 5);
  // Taken before the catalogue grew: one series is not stored.
  const [lacking, ...held] = METRIC_TYPES;
  await t.db.delete(captureSnapshotSeries).where(and(
    eq(captureSnapshotSeries.captureId, id),
    eq(captureSnapshotSeries.type, lacking),
  ));
  const types = [held[0], lacking];
  const origin = (Date.parse(NOW) - 2 * HOUR_MS) / 1000;
  const snap = { captureId: id, takenAt: Date.parse(NOW) - HOUR_MS };
  const read = () => seriesFromSnapshot(t.db, snap, "Average", types, 60, origin);
  const first = await read();
  assert.deepEqual(first.series.map((s) => [s.type, s.complete, s.datapoints.length]), [
    [held[0], true, 60],
    [lacking, false, 0],
  ]);
  assert.deepEqual(first.lacking, [lacking]);
  // Remembered: the same answer again, the lacking series still named for CloudWatch.
  assert.deepEqual(await read(), first);
  // A read of only the held series is its own entry, complete.
  const heldOnly = await seriesFromSnapshot(t.db, snap, "Average", [held[0]], 60, origin);
  assert.deepEqual(heldOnly.lacking, []);
});
