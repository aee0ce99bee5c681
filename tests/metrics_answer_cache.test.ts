// A stored snapshot answer is sent as the JSON text first made of it (metrics/snapshot_cache.ts
// snapshotAnswerCacheOf), yet the access check runs first on every request and reads the key's
// parts afresh: another connection's delete, a snapshot stored anew or a changed window is never
// answered from an old entry, no caller who may not read the capture reaches one, and the cache
// stays within its bound.
import assert from "node:assert/strict";
import { eq } from "drizzle-orm";
import { createApp } from "../app.ts";
import { openDatabase } from "../db/client.ts";
import { captures, captureSnapshots, captureSnapshotSeries } from "../db/schema.ts";
import { METRIC_TYPES } from "../metrics/catalogue.ts";
import { SETTLE_MS } from "../metrics/capture_metrics.ts";
import { SNAPSHOT_ANSWER_CACHE_BYTES, snapshotAnswerCacheOf } from "../metrics/snapshot_cache.ts";
import { type TestContext, testContext } from "./helpers/context.ts";
import { captureWithSnapshot, storeSnapshot } from "./helpers/snapshot_capture.ts";

const NOW = "2026-03-01T00:00:00Z";
const HOUR_MS = 3_600_000;

const path = (id: number, query = "type=CPUUtilization") => `/api/captures/${id}/metrics?${query}`;

/** The answer's status and text, and its values of the first series when it is a 200. */
async function read(t: TestContext, user: string, id: number, query?: string) {
  const res = await t.as(user).get(path(id, query));
  const text = await res.text();
  if (res.status !== 200) return { status: res.status, text, values: [], res };
  const body = JSON.parse(text);
  assert.equal(body.source, "snapshot");
  const values = body.series[0].datapoints.map((p: { value: number }) => p.value);
  return { status: 200, text, values, res, body };
}

Deno.test("GET /api/captures/{id}/metrics: a snapshot answer is sent again byte for byte from the cache, headers and all", async () => {
  await using t = await testContext({ now: NOW });
  const env = await t.createEnvironment("owner");
  const { id } = await captureWithSnapshot(t, env.id, 42);
  const cache = snapshotAnswerCacheOf(t.db);
  const first = await read(t, "owner", id);
  assert.deepEqual(first.values, Array(60).fill(42));
  assert.equal(cache.size, 1);
  const again = await read(t, "owner", id);
  assert.equal(again.text, first.text);
  for (const name of ["content-type", "vary", "ratelimit-policy"]) {
    assert.equal(again.res.headers.get(name), first.res.headers.get(name), name);
  }
  assert.equal(again.res.headers.get("content-type"), "application/json");
  // Served from the entry: the stored rows changed behind the app's back (which the app itself
  // never does to a stored snapshot) and the answer did not.
  await t.db.update(captureSnapshotSeries).set({ datapoints: "[]" })
    .where(eq(captureSnapshotSeries.captureId, id));
  assert.equal((await read(t, "owner", id)).text, first.text);
  // Another period is its own entry.
  const hourly = await read(t, "owner", id, "type=CPUUtilization&period=3600");
  assert.equal(hourly.body.period, 3600);
  assert.equal(cache.size, 2);
  // A stat the snapshot lacks asks CloudWatch (unreachable here): that answer is never kept, as
  // CloudWatch may answer the next time.
  const min = await read(t, "owner", id, "type=CPUUtilization&stat=Minimum");
  assert.equal(min.status, 200);
  assert.equal(min.body.complete, false);
  assert.equal(cache.size, 2);
  // CSV is never taken from the JSON entry.
  const csv = await t.as("owner").get(path(id), { Accept: "text/csv" });
  assert.equal(csv.status, 200);
  assert.match(csv.headers.get("content-type") ?? "", /^text\/csv/);
});

Deno.test("GET /api/captures/{id}/metrics: an answer still settling is not kept; once settled it is, complete", async () => {
  await using t = await testContext({ now: NOW });
  const env = await t.createEnvironment("owner");
  const { id } = await captureWithSnapshot(t, env.id, 3, { endedAgoMs: 60_000 });
  const cache = snapshotAnswerCacheOf(t.db);
  const settling = await read(t, "owner", id);
  assert.equal(settling.body.complete, false);
  assert.equal(cache.size, 0);
  t.clock.advance(SETTLE_MS);
  const settled = await read(t, "owner", id);
  assert.equal(settled.body.complete, true);
  assert.equal(cache.size, 1);
  assert.equal((await read(t, "owner", id)).text, settled.text);
});

Deno.test("GET /api/captures/{id}/metrics: no one who may not read the capture gets a cached answer; members get the same bytes", async () => {
  await using t = await testContext({ now: NOW });
  const env = await t.createEnvironment("owner");
  await t.addMember(env.id, "mia", "member");
  const elsewhere = await t.createEnvironment("eve");
  const { id } = await captureWithSnapshot(t, env.id, 42);
  const first = await read(t, "owner", id);
  assert.equal((await read(t, "mia", id)).text, first.text, "nothing in it is the caller's");
  assert.equal((await read(t, "stranger", id)).status, 404);
  assert.equal((await read(t, "eve", id)).status, 404, "an admin of another environment");
  assert.ok(elsewhere.id !== env.id);
  assert.equal((await t.as("owner").delete(`/api/environments/${env.id}/members/mia`)).status, 204);
  const removed = await read(t, "mia", id);
  assert.equal(removed.status, 404);
  assert.doesNotMatch(removed.text, /datapoints/);
});

Deno.test("GET /api/captures/{id}/metrics: another connection's delete, new snapshot or changed window is never answered from the cache", async () => {
  await using t = await testContext({ now: NOW });
  // Another instance: its own connection to the same database file, and its own app (with its
  // own cache) to show what a fresh read answers.
  const other = await openDatabase(t.config.databaseUrl);
  const fresh = async (id: number) => {
    const app = createApp({ ...t.deps, db: other.db });
    const res = await app.request(path(id), {
      headers: { Authorization: `Bearer ${await t.token("owner")}` },
    });
    return await res.text();
  };
  try {
    const env = await t.createEnvironment("owner");
    const { id, start, end } = await captureWithSnapshot(t, env.id, 1);
    assert.deepEqual((await read(t, "owner", id)).values, Array(60).fill(1));
    assert.deepEqual((await read(t, "owner", id)).values, Array(60).fill(1));

    // The snapshot stored anew (another taken_at): the new one answers.
    await other.db.delete(captureSnapshotSeries).where(eq(captureSnapshotSeries.captureId, id));
    await other.db.delete(captureSnapshots).where(eq(captureSnapshots.captureId, id));
    await storeSnapshot(other.db, id, { start, end, takenAt: end + 1 }, 2);
    const renewed = await read(t, "owner", id);
    assert.deepEqual(renewed.values, Array(60).fill(2));
    assert.equal(renewed.text, await fresh(id));

    // The window changed (the capture's end moved 30 minutes earlier): the answer follows it.
    const earlier = end - HOUR_MS / 2;
    await other.db.update(captures).set({ end: earlier }).where(eq(captures.id, id));
    const moved = await read(t, "owner", id);
    assert.equal(moved.body.end, new Date(earlier).toISOString());
    assert.equal(moved.text, await fresh(id));

    // Deleted elsewhere: 404, never the cached answer.
    await other.db.delete(captureSnapshotSeries).where(eq(captureSnapshotSeries.captureId, id));
    await other.db.delete(captureSnapshots).where(eq(captureSnapshots.captureId, id));
    await other.db.delete(captures).where(eq(captures.id, id));
    assert.equal((await read(t, "owner", id)).status, 404);
  } finally {
    other.close();
  }
});

Deno.test("GET /api/captures/{id}/metrics: the answer cache stays within its bytes, the least recently used forgotten first", async () => {
  await using t = await testContext({ now: NOW });
  const env = await t.createEnvironment("owner");
  // Six hours at 60 s: each answer of every type is about a third of a megabyte.
  const { id } = await captureWithSnapshot(t, env.id, 5, { hours: 6 });
  const cache = snapshotAnswerCacheOf(t.db);
  // The same types in another order are another answer (the series come in the order asked).
  const orders = METRIC_TYPES.map((
    _,
    i,
  ) => [...METRIC_TYPES.slice(i), ...METRIC_TYPES.slice(0, i)]);
  const texts: string[] = [];
  for (const order of orders) {
    const answer = await read(t, "owner", id, order.map((type) => `type=${type}`).join("&"));
    assert.equal(answer.status, 200);
    texts.push(answer.text);
    assert.ok(cache.bytes <= SNAPSHOT_ANSWER_CACHE_BYTES, `${cache.bytes} bytes held`);
  }
  const total = texts.reduce((sum, text) => sum + text.length, 0);
  assert.ok(total > SNAPSHOT_ANSWER_CACHE_BYTES, "the answers together exceed the bound");
  assert.ok(cache.size < orders.length);
  // The oldest was forgotten and is made again, the same bytes.
  const firstQuery = orders[0].map((type) => `type=${type}`).join("&");
  assert.equal((await read(t, "owner", id, firstQuery)).text, texts[0]);
  assert.ok(cache.bytes <= SNAPSHOT_ANSWER_CACHE_BYTES);
});
