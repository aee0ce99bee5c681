import assert from "node:assert/strict";
import { eq } from "drizzle-orm";
import { findLoadSnapshot, loadBytes } from "../db/load_snapshots.ts";
import { storedSnapshotBytes } from "../db/snapshot_bytes.ts";
import { captureLoadGroups, captureLoadSnapshots, captures } from "../db/schema.ts";
import { createSweeper } from "../lifecycle/sweeper.ts";
import { START_CHECK_BUDGET_MS } from "../operations/captures.ts";
import { createInstanceChecker } from "../metrics/resolve_instance.ts";
import { createSnapshotter } from "../metrics/snapshotter.ts";
import { fakeCloudWatchEnv, startFakeCloudWatch, TEST_CREDENTIALS } from "./fakes/cloudwatch.ts";
import {
  FAKE_DIGESTS,
  fakeBase,
  fakeLoad,
  fullStatement,
  startFakePi,
  TOTAL_WEIGHT,
} from "./fakes/pi.ts";
import { FAKE_DBI_RESOURCE_ID, FAKE_INSTANCE_ID, startFakeRds } from "./fakes/rds.ts";
import { type TestContext, testContext } from "./helpers/context.ts";
import { assertProblem } from "./helpers/problem.ts";

/** A problem with `status` whose detail matches `detail`. */
async function problemLike(res: Response, status: number, detail: RegExp) {
  const body = await assertProblem(res, status);
  assert.match(body.detail, detail);
  return body;
}

const NOW = "2026-01-15T12:00:00Z";
const MINUTE = 60_000;

interface LoadBody {
  source: string;
  period: number;
  complete: boolean;
  groupBy: string;
  total: { load: number; datapoints: Array<{ timestamp: string; value: number }> };
  groups: Array<{
    key: string;
    label: string;
    load: number;
    share: number;
    datapoints: Array<{ timestamp: string; value: number }>;
    stats?: { callsPerSecond: number; latencyMsPerCall: number; rowsPerCall: number };
    statement?: string;
  }>;
}

/** Fakes for CloudWatch, Performance Insights and RDS, and an app pointed at them. */
async function setup(options: { piPageSize?: number } = {}) {
  const cw = await startFakeCloudWatch();
  const pi = await startFakePi({ pageSize: options.piPageSize });
  const rds = await startFakeRds();
  const t = await testContext({
    now: NOW,
    env: { ...fakeCloudWatchEnv(cw), PI_ENDPOINT: pi.url, RDS_ENDPOINT: rds.url },
  });
  return {
    cw,
    pi,
    rds,
    t,
    async [Symbol.asyncDispose]() {
      await t[Symbol.asyncDispose]();
      await Promise.all([cw.close(), pi.close(), rds.close()]);
    },
  };
}

function sweeperFor(t: TestContext, snapshotBytesPerEnvironment?: number) {
  const parts = {
    db: t.db,
    pi: t.deps.pi,
    rds: t.deps.rds,
    credentials: t.deps.credentialProvider!,
  };
  const snapshotter = createSnapshotter({
    db: t.db,
    cloudwatch: t.deps.cloudwatch,
    credentials: t.deps.credentialProvider,
    logger: t.deps.logger,
    pi: t.deps.pi,
    rds: t.deps.rds,
    snapshotBytesPerEnvironment,
  });
  return createSweeper({
    db: t.db,
    clock: t.clock,
    logger: t.deps.logger,
    snapshotter,
    instanceChecker: createInstanceChecker(parts),
  });
}

async function createCapture(t: TestContext, body: Record<string, unknown>) {
  const res = await t.as("owner").post("/api/captures", {
    name: `capture-${crypto.randomUUID().slice(0, 8)}`,
    ...body,
  });
  const text = await res.text();
  assert.equal(res.status, 201, text);
  return JSON.parse(text) as { id: number; status: string; reason?: string | null };
}

async function readLoad(t: TestContext, id: number, query: string): Promise<LoadBody> {
  const res = await t.as("owner").get(`/api/captures/${id}/load${query}`);
  const text = await res.text();
  assert.equal(res.status, 200, text);
  return JSON.parse(text);
}

/** Every minute start in [from, to) as epoch seconds. */
const minutes = (from: string, to: string) => {
  const out: number[] = [];
  for (let ms = Date.parse(from); ms < Date.parse(to); ms += MINUTE) out.push(ms / 1000);
  return out;
};

Deno.test("an environment is resolved on create: DbiResourceId, Performance Insights, status", async () => {
  await using f = await setup();
  const { t } = f;
  const res = await t.as("owner").post("/api/environments", {
    name: "prod",
    region: "us-east-1",
    dbInstanceIdentifier: FAKE_INSTANCE_ID,
  });
  const env = await res.json();
  assert.equal(res.status, 201);
  assert.equal(env.dbiResourceId, FAKE_DBI_RESOURCE_ID);
  assert.deepEqual(env.performanceInsights, { enabled: true, retentionDays: 7 });
  assert.deepEqual(env.resolution, { status: "resolved", reason: null });
  assert.equal(f.rds.calls.length, 1);
  assert.equal(f.rds.calls[0].action, "DescribeDBInstances");
});

Deno.test("a missing instance or a throttled RDS never fails the create; PATCH resolves again", async () => {
  await using f = await setup();
  const { t } = f;
  const missing = await t.as("owner").post("/api/environments", {
    name: "typo",
    region: "us-east-1",
    dbInstanceIdentifier: "prod-mysql-9",
  });
  const body = await missing.json();
  assert.equal(missing.status, 201);
  assert.equal(body.resolution.status, "not_found");
  assert.match(body.resolution.reason, /DBInstanceNotFound/);
  assert.equal(body.dbiResourceId, null);
  assert.equal(body.performanceInsights, null);

  const patched = await t.as("owner").patch(`/api/environments/${body.id}`, {
    dbInstanceIdentifier: FAKE_INSTANCE_ID,
  });
  const fixed = await patched.json();
  assert.equal(patched.status, 200);
  assert.equal(fixed.resolution.status, "resolved");
  assert.equal(fixed.dbiResourceId, FAKE_DBI_RESOURCE_ID);

  f.rds.always = "throttle";
  const throttled = await t.as("owner").post("/api/environments", {
    name: "busy",
    region: "us-east-1",
    dbInstanceIdentifier: FAKE_INSTANCE_ID,
  });
  const pending = await throttled.json();
  assert.equal(throttled.status, 201);
  assert.equal(pending.resolution.status, "pending");
  assert.match(pending.resolution.reason, /RDS Throttling/);
  // Credentials never appear in what the environment says.
  assert.ok(!JSON.stringify(pending).includes(TEST_CREDENTIALS.secretAccessKey));
});

Deno.test("load?groupBy=sql: three digests whose values follow the fake's formula, with statistics", async () => {
  await using f = await setup();
  const { t } = f;
  const env = await t.createEnvironment("owner", { dbInstanceIdentifier: FAKE_INSTANCE_ID });
  const capture = await createCapture(t, {
    envId: env.id,
    start: "2026-01-15T10:00:00Z",
    duration: 1800,
  });
  const load = await readLoad(t, capture.id, "?groupBy=sql&limit=10");
  assert.equal(load.source, "performance-insights");
  assert.equal(load.period, 60);
  assert.equal(load.complete, true);
  const ts = minutes("2026-01-15T10:00:00Z", "2026-01-15T10:30:00Z");
  assert.deepEqual(
    load.total.datapoints,
    ts.map((s) => ({
      timestamp: new Date(s * 1000).toISOString(),
      value: fakeLoad(TOTAL_WEIGHT, s),
    })),
  );
  const base = ts.reduce((a, s) => a + fakeBase(s), 0) / ts.length;
  assert.ok(Math.abs(load.total.load - TOTAL_WEIGHT * base) < 1e-6);
  assert.equal(load.groups.length, 3);
  for (const [i, digest] of FAKE_DIGESTS.entries()) {
    const group = load.groups[i];
    assert.equal(group.key, digest.id);
    assert.equal(group.statement, digest.statement);
    assert.ok(Math.abs(group.share - digest.weight / TOTAL_WEIGHT) < 1e-9);
    assert.ok(Math.abs(group.load - digest.weight * base) < 1e-6);
    assert.deepEqual(group.stats, {
      callsPerSecond: digest.callsPerSecond,
      latencyMsPerCall: digest.latencyMsPerCall,
      rowsPerCall: digest.rowsPerCall,
    });
    assert.equal(group.datapoints[5].value, fakeLoad(digest.weight, ts[5]));
  }
  // One GetResourceMetrics (total and groups together) and one DescribeDimensionKeys.
  const targets = f.pi.calls.map((c) => c.target);
  assert.deepEqual(targets, [
    "PerformanceInsightsv20180227.GetResourceMetrics",
    "PerformanceInsightsv20180227.DescribeDimensionKeys",
  ]);
  assert.equal(f.pi.calls[0].body.Identifier, FAKE_DBI_RESOURCE_ID);
  assert.equal(f.pi.calls[0].body.PeriodInSeconds, 60);

  const full = await t.as("owner").get(`/api/captures/${capture.id}/sql/${FAKE_DIGESTS[1].id}`);
  const text = await full.json();
  assert.equal(full.status, 200);
  assert.equal(text.statement, fullStatement(FAKE_DIGESTS[1].id));
  assert.equal(text.sqlId, `sql-${FAKE_DIGESTS[1].id}`);
  const unknown = await t.as("owner").get(`/api/captures/${capture.id}/sql/NOPE`);
  await problemLike(unknown, 404, /saw no statement of digest NOPE/);
});

Deno.test("load pages through NextToken; waits, users, hosts; limit cuts the groups", async () => {
  await using f = await setup({ piPageSize: 7 });
  const { t } = f;
  const env = await t.createEnvironment("owner", { dbInstanceIdentifier: FAKE_INSTANCE_ID });
  const capture = await createCapture(t, {
    envId: env.id,
    start: "2026-01-15T10:00:00Z",
    duration: 1800,
  });
  const waits = await readLoad(t, capture.id, "?groupBy=wait&limit=2");
  assert.equal(waits.total.datapoints.length, 30);
  assert.deepEqual(waits.groups.map((g) => g.key), [
    "io/table/sql/handler",
    "synch/mutex/innodb/buf_pool_mutex",
  ]);
  assert.equal(waits.groups[0].label, "io: io/table/sql/handler");
  assert.equal(waits.groups[0].datapoints.length, 30);
  assert.equal(f.pi.calls.length, 5); // 30 points in pages of 7
  const users = await readLoad(t, capture.id, "?groupBy=user");
  assert.deepEqual(users.groups.map((g) => [g.key, Math.round(g.share * 3)]), [["app", 2], [
    "report",
    1,
  ]]);
  const hosts = await readLoad(t, capture.id, "?groupBy=host");
  assert.equal(hosts.groups[0].key, "10.0.0.11");
  const bad = await t.as("owner").get(`/api/captures/${capture.id}/load?groupBy=query`);
  await problemLike(bad, 400, /groupBy/);
});

Deno.test("PI off or outside its retention: 409 that says which and what to do", async () => {
  await using f = await setup();
  const { t } = f;
  f.rds.instances.set("no-pi", {
    dbiResourceId: "db-NOPI",
    status: "available",
    engine: "postgres",
    piEnabled: false,
    piRetentionDays: 7,
  });
  const off = await t.createEnvironment("owner", { dbInstanceIdentifier: "no-pi" });
  const c1 = await createCapture(t, {
    envId: off.id,
    start: "2026-01-15T10:00:00Z",
    duration: 600,
  });
  await problemLike(
    await t.as("owner").get(`/api/captures/${c1.id}/load`),
    409,
    /Performance Insights is off for no-pi; turn it on/,
  );
  const on = await t.createEnvironment("owner", { dbInstanceIdentifier: FAKE_INSTANCE_ID });
  const old = await createCapture(t, {
    envId: on.id,
    start: "2026-01-01T10:00:00Z",
    duration: 600,
  });
  await problemLike(
    await t.as("owner").get(`/api/captures/${old.id}/load`),
    409,
    /keeps 7 days for prod-mysql-1; this capture ended 14 days ago/,
  );
  assert.equal(f.pi.calls.length, 0);
  // Started 7 days and 1 hour ago, ran 2 days: PI still has most of it, answered as incomplete.
  const straddling = await createCapture(t, {
    envId: on.id,
    start: "2026-01-08T11:00:00Z",
    duration: 2 * 86_400,
  });
  const partial = await readLoad(t, straddling.id, "?groupBy=wait");
  assert.equal(partial.source, "performance-insights");
  assert.equal(partial.complete, false);
  assert.ok(partial.total.datapoints.length > 0);
});

Deno.test("a finished capture keeps its load: answered from the snapshot with zero PI calls", async () => {
  await using f = await setup();
  const { t } = f;
  const env = await t.createEnvironment("owner", { dbInstanceIdentifier: FAKE_INSTANCE_ID });
  const capture = await createCapture(t, {
    envId: env.id,
    start: "2026-01-15T11:00:00Z",
    duration: 1800,
  });
  const fresh = await readLoad(t, capture.id, "?groupBy=sql");
  const result = await sweeperFor(t).sweepOnce();
  assert.equal(result.snapshots.stored, 1);
  const stored = await t.db.select().from(captureLoadSnapshots)
    .where(eq(captureLoadSnapshots.captureId, capture.id));
  assert.deepEqual(stored.map((s) => s.groupBy).sort(), ["sql", "wait"]);
  f.pi.forget();
  const before = f.pi.calls.length;
  const kept = await readLoad(t, capture.id, "?groupBy=sql");
  const waits = await readLoad(t, capture.id, "?groupBy=wait&limit=1");
  assert.equal(f.pi.calls.length, before, "no Performance Insights call");
  assert.equal(kept.source, "snapshot");
  assert.deepEqual(kept.total, fresh.total);
  assert.deepEqual(kept.groups, fresh.groups);
  assert.equal(waits.groups.length, 1);
  assert.equal(waits.groups[0].key, "io/table/sql/handler");

  // The full statement text is kept with the capture too: answered after PI forgot it.
  const digest = FAKE_DIGESTS[1];
  const sql = await t.as("owner").get(`/api/captures/${capture.id}/sql/${digest.id}`);
  const text = await sql.json();
  assert.equal(sql.status, 200, JSON.stringify(text));
  assert.deepEqual(text, {
    captureId: capture.id,
    digestId: digest.id,
    sqlId: `sql-${digest.id}`,
    statement: fullStatement(digest.id),
    status: "AVAILABLE",
    source: "snapshot",
    truncated: false,
  });
  assert.equal(f.pi.calls.length, before, "no Performance Insights call for the text");
  // Without the full text kept (PI had not processed it), past PI's retention: the kept
  // tokenized text, marked truncated, rather than a 409.
  await t.db.update(captureLoadGroups).set({ fullStatement: null })
    .where(eq(captureLoadGroups.captureId, capture.id));
  t.clock.set(new Date(Date.parse(NOW) + 30 * 86_400_000));
  const cut = await t.as("owner").get(`/api/captures/${capture.id}/sql/${digest.id}`);
  const cutText = await cut.json();
  assert.equal(cut.status, 200, JSON.stringify(cutText));
  assert.equal(cutText.statement, digest.statement);
  assert.equal(cutText.truncated, true);
  assert.equal(cutText.source, "snapshot");
  t.clock.set(new Date(NOW));

  // Deleting the capture deletes its load.
  assert.equal((await t.as("owner").delete(`/api/captures/${capture.id}`)).status, 204);
  const left = await t.db.select().from(captureLoadGroups)
    .where(eq(captureLoadGroups.captureId, capture.id));
  assert.equal(left.length, 0);
});

Deno.test("FAILED for a missing instance at start, now or when the sweeper starts it; not for throttling", async () => {
  await using f = await setup();
  const { t } = f;
  const gone = await t.createEnvironment("owner", { dbInstanceIdentifier: "dropped-db" });
  const now = await createCapture(t, { envId: gone.id });
  assert.equal(now.status, "FAILED");
  assert.match(now.reason!, /RDS DBInstanceNotFound: DBInstance dropped-db not found/);

  const scheduled = await createCapture(t, {
    envId: gone.id,
    scheduledStart: "2026-01-15T12:10:00Z",
    duration: 600,
  });
  assert.equal(scheduled.status, "SCHEDULED");
  t.clock.set(new Date(Date.parse(NOW) + 11 * MINUTE));
  const sweep = await sweeperFor(t).sweepOnce();
  assert.deepEqual(sweep.failed, [scheduled.id]);
  const row = await t.as("owner").get(`/api/captures/${scheduled.id}`);
  const failed = await row.json();
  assert.equal(failed.status, "FAILED");
  assert.match(failed.reason, /DBInstanceNotFound/);

  // A throttled RDS leaves the capture RUNNING; the sweeper asks again and confirms it later.
  const ok = await t.createEnvironment("owner", { dbInstanceIdentifier: FAKE_INSTANCE_ID });
  f.rds.always = "throttle";
  const busy = await createCapture(t, { envId: ok.id });
  assert.equal(busy.status, "RUNNING");
  assert.deepEqual((await sweeperFor(t).sweepOnce()).failed, []);
  let [stored] = await t.db.select().from(captures).where(eq(captures.id, busy.id));
  assert.equal(stored.status, "RUNNING");
  assert.equal(stored.instanceCheckedAt, null);
  f.rds.always = "ok";
  await sweeperFor(t).sweepOnce();
  [stored] = await t.db.select().from(captures).where(eq(captures.id, busy.id));
  assert.equal(stored.status, "RUNNING");
  assert.notEqual(stored.instanceCheckedAt, null);
});

Deno.test("Performance Insights faults map like CloudWatch's: 503 + Retry-After, 502, 504", async () => {
  await using f = await setup();
  const { t } = f;
  const env = await t.createEnvironment("owner", { dbInstanceIdentifier: FAKE_INSTANCE_ID });
  const capture = await createCapture(t, {
    envId: env.id,
    start: "2026-01-15T10:00:00Z",
    duration: 600,
  });
  const path = `/api/captures/${capture.id}/load`;

  f.pi.faults.push("throttle", "throttle", "throttle", "throttle");
  const throttled = await t.as("owner").get(path);
  await problemLike(throttled, 503, /Performance Insights ThrottlingException/);
  assert.ok(Number(throttled.headers.get("retry-after")) >= 1);

  f.pi.faults.push("denied");
  await problemLike(await t.as("owner").get(path), 502, /NotAuthorizedException/);

  f.pi.faults.push("garbage", "garbage", "garbage", "garbage");
  await problemLike(await t.as("owner").get(path), 502, /Performance Insights answered/);

  f.pi.faults.push("hang", "hang", "hang", "hang");
  await problemLike(await t.as("owner").get(path), 504, /Performance Insights did not answer/);

  // A transient fault is retried inside the call.
  f.pi.faults.push("http500");
  assert.equal((await t.as("owner").get(path)).status, 200);
  for (const line of t.logLines) assert.ok(!line.includes(TEST_CREDENTIALS.secretAccessKey));
});

Deno.test("compare gains load per SQL digest (both, new, gone) and per wait; compare.svg?view=load stacks waits", async () => {
  await using f = await setup();
  const { t } = f;
  const [newer, both, older] = FAKE_DIGESTS;
  const cut = Date.parse("2026-01-15T10:45:00Z") / 1000;
  f.pi.digestWindows.set(newer.id, { from: cut });
  f.pi.digestWindows.set(older.id, { until: cut });
  const env = await t.createEnvironment("owner", { dbInstanceIdentifier: FAKE_INSTANCE_ID });
  const base = await createCapture(t, {
    envId: env.id,
    start: "2026-01-15T10:00:00Z",
    duration: 1800,
  });
  const cand = await createCapture(t, {
    envId: env.id,
    start: "2026-01-15T11:00:00Z",
    duration: 1800,
  });
  const res = await t.as("owner").get(
    `/api/captures/${cand.id}/compare?with=${base.id}&type=DBLoad&include=load`,
  );
  const text = await res.text();
  assert.equal(res.status, 200, text);
  const { load } = JSON.parse(text);
  assert.equal(load.available, true);
  // Both windows cover three whole 10-minute cycles of the formula: average base 0.95.
  const avg = 0.95;
  const byKey = Object.fromEntries(load.sql.map((d: { key: string }) => [d.key, d]));
  assert.equal(byKey[newer.id].status, "new");
  assert.equal(byKey[newer.id].baseline, null);
  assert.ok(Math.abs(byKey[newer.id].candidate.load - newer.weight * avg) < 1e-6);
  assert.equal(byKey[newer.id].candidate.latencyMsPerCall, newer.latencyMsPerCall);
  assert.equal(byKey[newer.id].change.load.relative, null);
  assert.equal(byKey[older.id].status, "gone");
  assert.equal(byKey[older.id].candidate, null);
  assert.ok(Math.abs(byKey[older.id].change.load.relative + 1) < 1e-9);
  assert.equal(byKey[both.id].status, "both");
  assert.ok(Math.abs(byKey[both.id].change.load.absolute) < 1e-9);
  assert.deepEqual(byKey[both.id].change.latencyMsPerCall, { absolute: 0, relative: 0 });
  assert.deepEqual(
    load.waits.map((w: { key: string; status: string }) => `${w.key} ${w.status}`),
    ["io/table/sql/handler both", "synch/mutex/innodb/buf_pool_mutex both", "CPU both"],
  );
  assert.equal(load.waits[2].label, "CPU", "a wait named like its type reads once");

  const chart = await t.as("owner").get(
    `/api/captures/${cand.id}/compare.svg?with=${base.id}&type=DBLoad&view=load`,
  );
  const svg = await chart.text();
  assert.equal(chart.status, 200, svg);
  assert.match(svg, /database load by wait/);
  assert.match(svg, /role="img" aria-labelledby="chart-title chart-desc"/);
  assert.match(svg, /<title id="chart-title">/);
  assert.equal((svg.match(/<rect [^>]*height="48"/g) ?? []).length, 6, "3 waits × 2 bars");

  f.rds.instances.set("no-pi", {
    dbiResourceId: "db-NOPI",
    status: "available",
    engine: "mysql",
    piEnabled: false,
    piRetentionDays: 7,
  });
  const off = await t.createEnvironment("owner", { dbInstanceIdentifier: "no-pi" });
  const other = await createCapture(t, {
    envId: off.id,
    start: "2026-01-15T10:00:00Z",
    duration: 1800,
  });
  const partial = await t.as("owner").get(
    `/api/captures/${cand.id}/compare?with=${other.id}&type=DBLoad&include=load`,
  );
  const body = await partial.json();
  assert.equal(partial.status, 200);
  assert.equal(body.load.available, false);
  assert.equal(body.load.retryable, false);
  assert.match(body.load.reason, /Performance Insights is off for no-pi/);
  await problemLike(
    await t.as("owner").get(`/api/captures/${cand.id}/compare.svg?with=${other.id}&view=load`),
    409,
    /No database load to chart/,
  );
});

Deno.test("past QUOTA_SNAPSHOT_BYTES_PER_ENVIRONMENT a capture's load keeps what fits (top groups, marked incomplete), the rest from PI", async () => {
  await using f = await setup();
  const { t } = f;
  const env = await t.createEnvironment("owner", { dbInstanceIdentifier: FAKE_INSTANCE_ID });
  // Three captures of one window: the fakes answer each alike, so each weighs the same.
  const window = { envId: env.id, start: "2026-01-15T11:00:00Z", duration: 1800 };
  const first = await createCapture(t, window);
  assert.equal((await sweeperFor(t).sweepOnce()).snapshots.stored, 1);
  const one = await storedSnapshotBytes(t.db, env.id);
  const wait = await findLoadSnapshot(t.db, first.id, "wait");
  const sql = await findLoadSnapshot(t.db, first.id, "sql");
  assert.ok(wait && sql && sql.groups.length === 3);
  const cloudwatch = one - loadBytes(wait) - loadBytes(sql);
  // Room for the second capture's CloudWatch series, its waits and part of its SQL groups.
  const limit = one + cloudwatch + loadBytes(wait) +
    loadBytes({ header: sql.header, groups: sql.groups.slice(0, 1) });
  assert.ok(limit > one + cloudwatch);
  const second = await createCapture(t, window);
  assert.equal((await sweeperFor(t, limit).sweepOnce()).snapshots.stored, 1);
  assert.ok(await storedSnapshotBytes(t.db, env.id) <= limit);
  assert.equal((await findLoadSnapshot(t.db, second.id, "wait"))?.header.complete, true);
  const trimmed = await findLoadSnapshot(t.db, second.id, "sql");
  assert.deepEqual(trimmed?.groups.map((g) => g.key), [sql.groups[0].key]);
  assert.equal(trimmed!.header.complete, false);
  const kept = await readLoad(t, second.id, "?groupBy=sql");
  assert.equal(kept.source, "snapshot");
  assert.equal(kept.complete, false);
  assert.deepEqual(kept.groups.map((g) => g.key), [sql.groups[0].key]);

  // Full: no load is kept, and it comes from Performance Insights while PI has it.
  const third = await createCapture(t, window);
  assert.equal((await sweeperFor(t, limit).sweepOnce()).snapshots.stored, 1);
  assert.equal(await findLoadSnapshot(t.db, third.id, "wait"), undefined);
  assert.equal((await readLoad(t, third.id, "?groupBy=wait")).source, "performance-insights");
  const warned = t.logLines.map((line) => JSON.parse(line))
    .filter((line) => /QUOTA_SNAPSHOT_BYTES_PER_ENVIRONMENT/.test(line.msg));
  assert.ok(warned.length >= 3, t.logLines.join("\n"));
});

Deno.test("load and SQL text refusals are invalid-state like metrics': no AWS credentials, not started", async () => {
  // Performance Insights and RDS are set up; AWS credentials are not (no AWS_* on the server).
  await using pi = await startFakePi({});
  await using rds = await startFakeRds();
  await using t = await testContext({
    now: NOW,
    env: { PI_ENDPOINT: pi.url, RDS_ENDPOINT: rds.url },
  });
  const env = await t.createEnvironment("owner");
  const done = await createCapture(t, { envId: env.id, start: "2026-01-15T10:00:00Z" });
  const scheduled = await createCapture(t, {
    envId: env.id,
    scheduledStart: "2026-01-16T10:00:00Z",
  });
  for (const id of [done.id, scheduled.id]) {
    const paths = [
      `/api/captures/${id}/metrics`,
      `/api/captures/${id}/load`,
      `/api/captures/${id}/sql/ABC123`,
    ];
    for (const path of paths) {
      const body = await assertProblem(await t.as("owner").get(path), 409);
      assert.equal(body.type, "/problems/invalid-state", `${path}: ${body.detail}`);
    }
  }
  const load = await assertProblem(await t.as("owner").get(`/api/captures/${done.id}/load`), 409);
  assert.match(load.detail, /has no AWS credentials/);
  assert.equal(pi.calls.length, 0);
});

Deno.test("compare calls Performance Insights only when the answer uses load; its faults are 503/502/504", async () => {
  await using f = await setup();
  const { t } = f;
  f.rds.instances.set("no-pi", {
    dbiResourceId: "db-NOPI",
    status: "available",
    engine: "mysql",
    piEnabled: false,
    piRetentionDays: 7,
  });
  const on = await t.createEnvironment("owner", { dbInstanceIdentifier: FAKE_INSTANCE_ID });
  const off = await t.createEnvironment("owner", { dbInstanceIdentifier: "no-pi" });
  const base = await createCapture(t, {
    envId: off.id,
    start: "2026-01-15T10:00:00Z",
    duration: 1800,
  });
  const cand = await createCapture(t, {
    envId: on.id,
    start: "2026-01-15T11:00:00Z",
    duration: 1800,
  });
  const query = `with=${base.id}&type=DBLoad`;

  const json = await t.as("owner").get(`/api/captures/${cand.id}/compare?${query}`);
  assert.equal(json.status, 200);
  assert.equal((await json.json()).load, undefined, "no load unless asked");
  const chart = await t.as("owner").get(`/api/captures/${cand.id}/compare.svg?${query}`);
  assert.equal(chart.status, 200);
  await chart.body?.cancel();
  assert.equal(f.pi.calls.length, 0, "no Performance Insights call for metrics");

  // From metric snapshots (the baseline has no stored load: PI is off), the charts cache long.
  await sweeperFor(t).sweepOnce();
  f.pi.calls.length = 0;
  const cached = await t.as("owner").get(`/api/captures/${cand.id}/compare.svg?${query}`);
  await cached.body?.cancel();
  assert.equal(cached.headers.get("cache-control"), "private, max-age=86400");
  const cachedJson = await t.as("owner").get(`/api/captures/${cand.id}/compare?${query}`);
  await cachedJson.body?.cancel();
  assert.equal(cachedJson.headers.get("cache-control"), "private, max-age=86400");
  assert.equal(f.pi.calls.length, 0);

  // Throttled: JSON says "retry later", the load chart answers 503 + Retry-After like /load.
  const live = await createCapture(t, {
    envId: on.id,
    start: "2026-01-15T11:40:00Z",
    duration: 600,
  });
  const liveQuery = `with=${cand.id}&type=DBLoad`;
  f.pi.always = "throttle";
  const throttledJson = await t.as("owner").get(
    `/api/captures/${live.id}/compare?${liveQuery}&include=load`,
  );
  const body = await throttledJson.json();
  assert.equal(throttledJson.status, 200);
  assert.equal(body.load.available, false);
  assert.equal(body.load.retryable, true);
  assert.ok(body.load.retryAfter >= 1);
  const throttled = await t.as("owner").get(
    `/api/captures/${live.id}/compare.svg?${liveQuery}&view=load`,
  );
  await problemLike(throttled, 503, /Performance Insights ThrottlingException/);
  assert.ok(Number(throttled.headers.get("retry-after")) >= 1);
  f.pi.always = "denied";
  await problemLike(
    await t.as("owner").get(`/api/captures/${live.id}/compare.svg?${liveQuery}&view=load`),
    502,
    /NotAuthorizedException/,
  );
});

Deno.test("RDS refusing the credentials makes load and sql answer 502 naming RDS's error, not 409", async () => {
  await using cw = await startFakeCloudWatch();
  await using pi = await startFakePi();
  const other = { accessKeyId: "AKIDOTHERACCOUNT0001", secretAccessKey: "other-secret" };
  await using rds = await startFakeRds({ credentials: [other] });
  await using t = await testContext({
    now: NOW,
    env: { ...fakeCloudWatchEnv(cw), PI_ENDPOINT: pi.url, RDS_ENDPOINT: rds.url },
  });
  const env = await t.createEnvironment("owner", { dbInstanceIdentifier: FAKE_INSTANCE_ID });
  const capture = await createCapture(t, {
    envId: env.id,
    start: "2026-01-15T10:00:00Z",
    duration: 600,
  });
  await problemLike(
    await t.as("owner").get(`/api/captures/${capture.id}/load`),
    502,
    /RDS InvalidClientTokenId/,
  );
  await problemLike(
    await t.as("owner").get(`/api/captures/${capture.id}/sql/${FAKE_DIGESTS[0].id}`),
    502,
    /RDS InvalidClientTokenId/,
  );
  assert.equal(pi.calls.length, 0);
});

Deno.test("a create does not wait on a hanging RDS past the start check's budget; the sweeper checks later", async () => {
  await using f = await setup();
  const { t } = f;
  const env = await t.createEnvironment("owner", { dbInstanceIdentifier: FAKE_INSTANCE_ID });
  f.rds.always = "hang";
  const started = performance.now();
  const capture = await createCapture(t, { envId: env.id });
  const waited = performance.now() - started;
  assert.equal(capture.status, "RUNNING");
  // The tests' RDS client has a 3 s budget; the create's check stops at START_CHECK_BUDGET_MS.
  assert.ok(waited < START_CHECK_BUDGET_MS + 1000, `the create took ${Math.round(waited)} ms`);
  let [stored] = await t.db.select().from(captures).where(eq(captures.id, capture.id));
  assert.equal(stored.instanceCheckedAt, null);
  f.rds.always = "ok";
  await sweeperFor(t).sweepOnce();
  [stored] = await t.db.select().from(captures).where(eq(captures.id, capture.id));
  assert.equal(stored.status, "RUNNING");
  assert.notEqual(stored.instanceCheckedAt, null);
});

Deno.test("Performance Insights faults carry titles that name AWS, not CloudWatch", async () => {
  await using f = await setup();
  const { t } = f;
  const env = await t.createEnvironment("owner", { dbInstanceIdentifier: FAKE_INSTANCE_ID });
  const capture = await createCapture(t, {
    envId: env.id,
    start: "2026-01-15T10:00:00Z",
    duration: 600,
  });
  const path = `/api/captures/${capture.id}/load`;
  f.pi.always = "throttle";
  const throttled = await problemLike(await t.as("owner").get(path), 503, /Performance Insights/);
  f.pi.always = "denied";
  const denied = await problemLike(await t.as("owner").get(path), 502, /Performance Insights/);
  for (const body of [throttled, denied]) assert.doesNotMatch(body.title, /CloudWatch/);
});

Deno.test("load of a window off the minute averages over the periods PI was asked for; nothing from PI is incomplete, not idle", async () => {
  await using f = await setup();
  const { t } = f;
  const env = await t.createEnvironment("owner", { dbInstanceIdentifier: FAKE_INSTANCE_ID });
  // 60 s from 10:00:30: PI is asked for 10:00 and 10:01, two points for a one-minute window.
  const capture = await createCapture(t, {
    envId: env.id,
    start: "2026-01-15T10:00:30Z",
    duration: 60,
  });
  const load = await readLoad(t, capture.id, "?groupBy=sql");
  const values = load.total.datapoints.map((p: { value: number }) => p.value);
  assert.equal(values.length, 2);
  const mean = values.reduce((a: number, b: number) => a + b, 0) / values.length;
  assert.ok(Math.abs(load.total.load - mean) < 1e-6, `${load.total.load} vs mean ${mean}`);
  assert.ok(load.total.load <= Math.max(...values));
  for (const group of load.groups) {
    const sum = group.datapoints.reduce((a: number, p: { value: number }) => a + p.value, 0);
    assert.ok(Math.abs(group.load - sum / 2) < 1e-6, `${group.key}: ${group.load}`);
  }

  // PI has forgotten the window (past its retention, say): no points is unknown, not idle.
  f.pi.forget();
  const other = await createCapture(t, {
    envId: env.id,
    start: "2026-01-15T11:00:00Z",
    duration: 600,
  });
  const empty = await readLoad(t, other.id, "?groupBy=wait");
  assert.equal(empty.total.datapoints.length, 0);
  assert.equal(empty.complete, false);
});
