import assert from "node:assert/strict";
import { and, eq } from "drizzle-orm";
import { captures, captureSnapshots, captureSnapshotSeries } from "../db/schema.ts";
import {
  claimSnapshot,
  findSnapshot,
  findSnapshotHeader,
  findSnapshotSeries,
  recordSnapshotFailure,
} from "../db/snapshots.ts";
import { storedSnapshotBytes } from "../db/snapshot_bytes.ts";
import { METRIC_TYPES } from "../metrics/catalogue.ts";
import { fakeCloudWatchEnv, startFakeCloudWatch, TEST_CREDENTIALS } from "./fakes/cloudwatch.ts";
import { type TestContext, testContext } from "./helpers/context.ts";
import { sweeperFor } from "./helpers/sweeper.ts";
import { assertProblem } from "./helpers/problem.ts";

const NOW = "2026-01-15T12:00:00Z";
const DB_ID = "prod-mysql-1";
const MINUTE = 60_000;
const DAY_MS = 86_400_000;

const iso = (ms: number) => new Date(ms).toISOString();

async function createCapture(t: TestContext, body: Record<string, unknown>) {
  const res = await t.as("owner").post("/api/captures", {
    name: `capture-${crypto.randomUUID().slice(0, 8)}`,
    ...body,
  });
  const text = await res.text();
  assert.equal(res.status, 201, text);
  return JSON.parse(text) as { id: number; status: string };
}

/** A DONE capture over `[start, start + duration)`. */
async function backfill(t: TestContext, envId: number, start: string, duration = 3600) {
  const capture = await createCapture(t, { envId, start, duration });
  assert.equal(capture.status, "DONE");
  return capture;
}

async function captureRow(t: TestContext, id: number) {
  const [row] = await t.db.select().from(captures).where(eq(captures.id, id));
  return row;
}

async function read(t: TestContext, id: number, query = "") {
  const res = await t.as("owner").get(`/api/captures/${id}/metrics${query}`);
  const text = await res.text();
  assert.equal(res.status, 200, text);
  return JSON.parse(text) as {
    source: string;
    period: number;
    stat: string;
    complete: boolean;
    series: Array<{ type: string; complete: boolean; datapoints: unknown[] }>;
  };
}

/** A snapshot header without its takenAt, which each test's clock sets. */
const omitTakenAt = (header: { period: number; complete: boolean } | undefined) =>
  header && { period: header.period, complete: header.complete };

Deno.test("sweepOnce() snapshots a finished capture only once its end is 5 minutes old", async () => {
  await using fake = await startFakeCloudWatch();
  await using t = await testContext({ now: NOW, env: fakeCloudWatchEnv(fake) });
  const sweeper = sweeperFor(t);
  const env = await t.createEnvironment("owner");
  const capture = await createCapture(t, {
    envId: env.id,
    start: "2026-01-15T11:30:00Z",
    duration: 3600,
  });
  assert.equal(capture.status, "RUNNING");

  t.clock.set("2026-01-15T12:30:00Z");
  const ended = await sweeper.sweepOnce();
  assert.deepEqual(ended.finished, [capture.id]);
  assert.deepEqual(ended.snapshots, { stored: 0, failed: 0 });

  t.clock.set("2026-01-15T12:34:59Z");
  assert.deepEqual((await sweeper.sweepOnce()).snapshots, { stored: 0, failed: 0 });
  assert.equal(fake.calls.length, 0);
  assert.equal(await findSnapshot(t.db, capture.id), undefined);

  t.clock.set("2026-01-15T12:35:00Z");
  assert.deepEqual((await sweeper.sweepOnce()).snapshots, { stored: 1, failed: 0 });

  const snapshot = await findSnapshot(t.db, capture.id);
  assert.ok(snapshot);
  assert.equal(snapshot.period, 60);
  assert.equal(iso(snapshot.start), "2026-01-15T11:30:00.000Z");
  assert.equal(iso(snapshot.end), "2026-01-15T12:30:00.000Z");
  assert.equal(iso(snapshot.takenAt), "2026-01-15T12:35:00.000Z");
  const rows = await t.db.select().from(captureSnapshotSeries)
    .where(eq(captureSnapshotSeries.captureId, capture.id));
  for (const stat of ["Average", "Minimum", "Maximum"]) {
    const series = rows.filter((row) => row.stat === stat);
    assert.deepEqual(series.map((s) => s.type).sort(), [...METRIC_TYPES].sort());
    assert.ok(series.every((s) => JSON.parse(s.datapoints).length === 60));
  }
  // A read fetches only the series it returns.
  assert.deepEqual(omitTakenAt(await findSnapshotHeader(t.db, capture.id)), {
    period: 60,
    complete: true,
  });
  const minimum = await findSnapshotSeries(t.db, capture.id, "Minimum", ["CPUUtilization"]);
  assert.deepEqual(minimum.map((s) => [s.stat, s.type]), [["Minimum", "CPUUtilization"]]);
  assert.deepEqual(await findSnapshotSeries(t.db, capture.id, "p99", ["CPUUtilization"]), []);
  assert.equal(await findSnapshotHeader(t.db, capture.id + 1), undefined);
  assert.deepEqual(
    fake.calls.map((c) => c.body.MetricDataQueries[0].MetricStat.Stat),
    ["Average", "Minimum", "Maximum"],
  );
  for (const call of fake.calls) {
    assert.equal(call.body.MetricDataQueries.length, METRIC_TYPES.length);
    assert.equal(call.body.MetricDataQueries[0].MetricStat.Period, 60);
    assert.equal(call.body.StartTime, Date.parse("2026-01-15T11:30:00Z") / 1000);
    assert.equal(call.body.EndTime, Date.parse("2026-01-15T12:30:00Z") / 1000);
  }

  t.clock.advance(10 * MINUTE);
  assert.deepEqual((await sweeper.sweepOnce()).snapshots, { stored: 0, failed: 0 });
  assert.equal(fake.calls.length, 3);
});

Deno.test("GET /api/captures/{id}/metrics serves the snapshot's values without CloudWatch once it is stored", async () => {
  await using fake = await startFakeCloudWatch();
  await using t = await testContext({ now: NOW, env: fakeCloudWatchEnv(fake) });
  const sweeper = sweeperFor(t);
  const env = await t.createEnvironment("owner");
  const capture = await backfill(t, env.id, "2026-01-15T10:00:00Z");
  // Three samples a minute, so Average, Minimum and Maximum differ and 300 s buckets mean more;
  // whole-number minute averages keep the 300 s means exact whichever way they are summed.
  const t0 = Date.parse("2026-01-15T10:00:00Z") / 1000;
  fake.setSeries(
    "CPUUtilization",
    DB_ID,
    Array.from({ length: 60 }, (_, m): Array<[number, number]> => {
      const base = 20 + (m * 37) % 61;
      const d = 1 + m % 5;
      return [[t0 + 60 * m, base - d], [t0 + 60 * m + 20, base + 2 * d], [
        t0 + 60 * m + 40,
        base - d,
      ]];
    }).flat(),
  );

  const queries = [
    "",
    "?stat=Minimum",
    "?stat=Maximum",
    "?type=CPUUtilization&period=300",
    "?type=CPUUtilization&stat=Minimum&period=300",
    "?type=CPUUtilization&stat=Maximum&period=300",
  ];
  const fromCloudWatch = [];
  for (const query of queries) fromCloudWatch.push(await read(t, capture.id, query));
  assert.ok(fromCloudWatch.every((body) => body.source === "cloudwatch"));
  const [average, minimum] = fromCloudWatch;
  assert.notDeepEqual(average.series[0], minimum.series[0]);

  assert.deepEqual((await sweeper.sweepOnce()).snapshots, { stored: 1, failed: 0 });
  fake.dropData();
  const callsAfterSnapshot = fake.calls.length;

  for (const [i, query] of queries.entries()) {
    const body = await read(t, capture.id, query);
    assert.deepEqual(body, { ...fromCloudWatch[i], source: "snapshot" }, query);
  }
  const types = await read(t, capture.id, "?type=cpu%20utilization&type=SwapUsage&stat=maximum");
  assert.equal(types.source, "snapshot");
  assert.deepEqual(types.series, [fromCloudWatch[2].series[0], fromCloudWatch[2].series[13]]);
  assert.equal(fake.calls.length, callsAfterSnapshot);
});

Deno.test("GET /api/captures/{id}/metrics asks CloudWatch for a stat the snapshot does not keep", async () => {
  await using fake = await startFakeCloudWatch();
  await using t = await testContext({ now: NOW, env: fakeCloudWatchEnv(fake) });
  const sweeper = sweeperFor(t);
  const env = await t.createEnvironment("owner");
  const capture = await backfill(t, env.id, "2026-01-15T10:00:00Z");
  assert.deepEqual((await sweeper.sweepOnce()).snapshots, { stored: 1, failed: 0 });
  const before = fake.calls.length;

  const sum = await read(t, capture.id, "?type=ReadIOPS&stat=Sum");
  assert.equal(sum.source, "cloudwatch");
  assert.equal(sum.series[0].datapoints.length, 60);
  assert.equal(fake.calls.length, before + 1);
  assert.equal(fake.calls[before].body.MetricDataQueries[0].MetricStat.Stat, "Sum");

  fake.dropData();
  const dropped = await read(t, capture.id, "?type=ReadIOPS&stat=p99");
  assert.equal(dropped.source, "cloudwatch");
  assert.deepEqual(dropped.series[0].datapoints, []);
  assert.equal(fake.calls.length, before + 2);
});

Deno.test("sweepOnce() records a failed snapshot and retries it after its backoff while reads go on", async () => {
  await using fake = await startFakeCloudWatch();
  await using t = await testContext({ now: NOW, env: fakeCloudWatchEnv(fake) });
  const sweeper = sweeperFor(t);
  const env = await t.createEnvironment("owner");
  const capture = await backfill(t, env.id, "2026-01-15T10:00:00Z");
  fake.faults.push("accessDenied");

  assert.deepEqual((await sweeper.sweepOnce()).snapshots, { stored: 0, failed: 1 });
  let row = await captureRow(t, capture.id);
  assert.equal(row.snapshotAttempts, 1);
  assert.match(row.snapshotError ?? "", /AccessDenied/);
  assert.equal(iso(row.snapshotNextAttemptAt!), "2026-01-15T12:02:00.000Z");
  assert.equal(fake.calls.length, 1);

  const meanwhile = await read(t, capture.id, "?type=CPUUtilization");
  assert.equal(meanwhile.source, "cloudwatch");
  assert.equal(meanwhile.series[0].datapoints.length, 60);
  assert.equal(fake.calls.length, 2);

  t.clock.set("2026-01-15T12:01:59Z");
  assert.deepEqual((await sweeper.sweepOnce()).snapshots, { stored: 0, failed: 0 });
  assert.equal(fake.calls.length, 2);

  // The second attempt fails too, so the wait doubles to four minutes.
  t.clock.set("2026-01-15T12:02:00Z");
  fake.faults.push(...Array(4).fill("http500"));
  assert.deepEqual((await sweeper.sweepOnce()).snapshots, { stored: 0, failed: 1 });
  row = await captureRow(t, capture.id);
  assert.equal(row.snapshotAttempts, 2);
  assert.match(row.snapshotError ?? "", /InternalServiceError/);
  assert.equal(iso(row.snapshotNextAttemptAt!), "2026-01-15T12:06:00.000Z");

  t.clock.set("2026-01-15T12:05:00Z");
  assert.deepEqual((await sweeper.sweepOnce()).snapshots, { stored: 0, failed: 0 });
  t.clock.set("2026-01-15T12:06:00Z");
  assert.deepEqual((await sweeper.sweepOnce()).snapshots, { stored: 1, failed: 0 });
  row = await captureRow(t, capture.id);
  assert.equal(row.snapshotError, null);
  assert.equal(row.snapshotNextAttemptAt, null);
  assert.ok(await findSnapshot(t.db, capture.id));
  assert.equal((await read(t, capture.id)).source, "snapshot");
  for (const line of t.logLines) assert.ok(!line.includes(TEST_CREDENTIALS.secretAccessKey));
});

Deno.test("sweepOnce() records missing credentials and snapshots once they are configured", async () => {
  const own = {
    accessKeyId: "AKIASNAPSHOTENVKEY01",
    secretAccessKey: "SnapshotEnvironmentSecretKeyNeverShown12",
  };
  await using fake = await startFakeCloudWatch({ credentials: [TEST_CREDENTIALS, own] });
  await using t = await testContext({ now: NOW, env: { CLOUDWATCH_ENDPOINT: fake.url } });
  const sweeper = sweeperFor(t);
  const env = await t.createEnvironment("owner");
  const capture = await backfill(t, env.id, "2026-01-15T10:00:00Z");

  assert.deepEqual((await sweeper.sweepOnce()).snapshots, { stored: 0, failed: 1 });
  const row = await captureRow(t, capture.id);
  assert.equal(row.snapshotAttempts, 1);
  assert.match(row.snapshotError ?? "", /has no AWS credentials/);
  assert.equal(fake.calls.length, 0);
  await assertProblem(await t.as("owner").get(`/api/captures/${capture.id}/metrics`), 409);

  const patched = await t.as("owner").patch(`/api/environments/${env.id}`, { credentials: own });
  assert.equal(patched.status, 200, await patched.text());
  assert.equal((await read(t, capture.id, "?type=ReadIOPS")).source, "cloudwatch");

  t.clock.advance(2 * MINUTE);
  assert.deepEqual((await sweeper.sweepOnce()).snapshots, { stored: 1, failed: 0 });
  assert.equal(fake.calls.length, 4);
  assert.ok(fake.calls.every((c) => c.accessKeyId === own.accessKeyId && c.status === 200));
  for (const line of t.logLines) assert.ok(!line.includes(own.secretAccessKey), line);
});

Deno.test("DELETE /api/captures/{id} deletes its snapshot and no other", async () => {
  await using fake = await startFakeCloudWatch();
  await using t = await testContext({ now: NOW, env: fakeCloudWatchEnv(fake) });
  const sweeper = sweeperFor(t);
  const env = await t.createEnvironment("owner");
  const doomed = await backfill(t, env.id, "2026-01-15T10:00:00Z");
  const kept = await backfill(t, env.id, "2026-01-15T09:00:00Z");
  assert.deepEqual((await sweeper.sweepOnce()).snapshots, { stored: 2, failed: 0 });

  const res = await t.as("owner").delete(`/api/captures/${doomed.id}`);
  assert.equal(res.status, 204);

  assert.equal(await findSnapshot(t.db, doomed.id), undefined);
  const rows = await t.db.select({ captureId: captureSnapshots.captureId }).from(captureSnapshots);
  assert.deepEqual(rows, [{ captureId: kept.id }]);
});

Deno.test("sweepOnce() gives up on a capture that started more than 15 days ago", async () => {
  await using fake = await startFakeCloudWatch();
  await using t = await testContext({ now: NOW, env: fakeCloudWatchEnv(fake) });
  const sweeper = sweeperFor(t);
  const env = await t.createEnvironment("owner");
  const capture = await backfill(t, env.id, iso(Date.parse(NOW) - 16 * DAY_MS));

  assert.deepEqual((await sweeper.sweepOnce()).snapshots, { stored: 0, failed: 1 });
  assert.equal(fake.calls.length, 0, "CloudWatch no longer has its 1-minute data");
  const row = await captureRow(t, capture.id);
  assert.equal(row.snapshotAttempts, 1);
  assert.match(row.snapshotError ?? "", /15 days/);

  t.clock.advance(DAY_MS);
  assert.deepEqual((await sweeper.sweepOnce()).snapshots, { stored: 0, failed: 0 });
  assert.equal(fake.calls.length, 0);
  assert.equal((await captureRow(t, capture.id)).snapshotAttempts, 1);
  assert.equal(await findSnapshot(t.db, capture.id), undefined);

  const body = await read(t, capture.id, "?type=CPUUtilization");
  assert.equal(body.source, "cloudwatch");
  assert.equal(body.period, 300);
});

Deno.test("sweepOnce() gives up when a retry falls after the 15 days of 1-minute data", async () => {
  await using fake = await startFakeCloudWatch();
  await using t = await testContext({ now: NOW, env: fakeCloudWatchEnv(fake) });
  const sweeper = sweeperFor(t);
  const env = await t.createEnvironment("owner");
  const capture = await backfill(t, env.id, iso(Date.parse(NOW) - 15 * DAY_MS + MINUTE));
  fake.faults.push("accessDenied");

  assert.deepEqual((await sweeper.sweepOnce()).snapshots, { stored: 0, failed: 1 });
  assert.equal(fake.calls.length, 1);

  t.clock.advance(2 * MINUTE);
  assert.deepEqual((await sweeper.sweepOnce()).snapshots, { stored: 0, failed: 1 });
  assert.equal(fake.calls.length, 1);
  const row = await captureRow(t, capture.id);
  assert.equal(row.snapshotAttempts, 2);
  assert.match(row.snapshotError ?? "", /15 days/);

  t.clock.advance(DAY_MS);
  assert.deepEqual((await sweeper.sweepOnce()).snapshots, { stored: 0, failed: 0 });
  assert.equal(fake.calls.length, 1);
  assert.equal(await findSnapshot(t.db, capture.id), undefined);
});

Deno.test("sweepOnce() logs CloudWatch's messages at warn", async () => {
  await using fake = await startFakeCloudWatch();
  await using t = await testContext({ now: NOW, env: fakeCloudWatchEnv(fake) });
  const sweeper = sweeperFor(t);
  const env = await t.createEnvironment("owner");
  const capture = await backfill(t, env.id, "2026-01-15T10:00:00Z");
  fake.faults.push("internalErrorResult");

  assert.deepEqual((await sweeper.sweepOnce()).snapshots, { stored: 0, failed: 1 });

  const warnings = t.logLines.map((line) => JSON.parse(line))
    .filter((line) => line.level === "warn" && line.msg === "cloudwatch messages");
  assert.equal(warnings.length, 1, t.logLines.join("\n"));
  assert.equal(warnings[0].captureId, capture.id);
  assert.equal(warnings[0].stat, "Average");
  assert.equal(warnings[0].messages.length, METRIC_TYPES.length);
  assert.match(warnings[0].messages[0], /^CPUUtilization: InternalError: /);
});

Deno.test("sweepOnce() of concurrent instances fetches a capture's snapshot once", async () => {
  await using fake = await startFakeCloudWatch();
  await using t = await testContext({ now: NOW, env: fakeCloudWatchEnv(fake) });
  const env = await t.createEnvironment("owner");
  const capture = await backfill(t, env.id, "2026-01-15T10:00:00Z");
  const instances = [sweeperFor(t), sweeperFor(t), sweeperFor(t)];

  const results = await Promise.all(instances.map((sweeper) => sweeper.sweepOnce()));

  assert.deepEqual(results.map((r) => r.snapshots.stored).sort(), [0, 0, 1]);
  const fetched = fake.calls.flatMap((call) =>
    // deno-lint-ignore no-explicit-any -- the GetMetricData request body as sent
    call.body.MetricDataQueries.map((q: any) =>
      `${q.MetricStat.Stat} ${q.MetricStat.Metric.MetricName}`
    )
  );
  assert.ok(fetched.length > 0);
  assert.equal(new Set(fetched).size, fetched.length, `series fetched more than once: ${fetched}`);
  assert.ok(await findSnapshot(t.db, capture.id));
  const row = await captureRow(t, capture.id);
  assert.equal(row.snapshotLeaseOwner, null, "the claim is released once stored");
});

Deno.test("sweepOnce() takes over a snapshot whose claim expired with its instance", async () => {
  await using fake = await startFakeCloudWatch();
  await using t = await testContext({ now: NOW, env: fakeCloudWatchEnv(fake) });
  const env = await t.createEnvironment("owner");
  const capture = await backfill(t, env.id, "2026-01-15T10:00:00Z");
  // An instance claimed it and died before storing anything.
  const crashedUntil = Date.parse(NOW) + 120_000;
  await t.db.update(captures).set({
    snapshotLeaseOwner: "crashed",
    snapshotLeaseUntil: crashedUntil,
  })
    .where(eq(captures.id, capture.id));
  const sweeper = sweeperFor(t);

  assert.deepEqual((await sweeper.sweepOnce()).snapshots, { stored: 0, failed: 0 });
  assert.equal(fake.calls.length, 0, "a live claim keeps other instances off AWS");

  t.clock.set(iso(crashedUntil));
  assert.deepEqual((await sweeper.sweepOnce()).snapshots, { stored: 1, failed: 0 });
  assert.ok(await findSnapshot(t.db, capture.id));
});

Deno.test("a failure recorded by an instance whose claim was taken over changes nothing", async () => {
  await using fake = await startFakeCloudWatch();
  await using t = await testContext({ now: NOW, env: fakeCloudWatchEnv(fake) });
  const env = await t.createEnvironment("owner");
  const capture = await backfill(t, env.id, "2026-01-15T10:00:00Z");
  const at = Date.parse(NOW);
  const due = { endedBefore: at, now: at };
  assert.ok(await claimSnapshot(t.db, capture.id, { owner: "a", until: at + 1 }, due));
  assert.equal(
    await claimSnapshot(t.db, capture.id, { owner: "b", until: at + 1 }, due),
    undefined,
    "a held claim cannot be taken",
  );
  const later = { endedBefore: at + 1, now: at + 1 };
  assert.ok(await claimSnapshot(t.db, capture.id, { owner: "b", until: at + 60_000 }, later));

  await recordSnapshotFailure(t.db, capture.id, "a", "late failure", at + 5);
  const row = await captureRow(t, capture.id);
  assert.equal(row.snapshotLeaseOwner, "b");
  assert.equal(row.snapshotError, null);
  assert.equal(row.snapshotAttempts, 0);
});

/** How the series a snapshot lacks is answered, by the capture's age at the read. */
const LACKING_CASES = [
  { later: 1, reach: true, lacking: { source: "cloudwatch", points: 60, complete: true } },
  {
    later: 20,
    reach: true,
    lacking: { source: "cloudwatch", period: 300, points: 12, complete: true },
  },
  {
    later: 100,
    reach: true,
    lacking: { source: "cloudwatch", period: 3600, points: 1, complete: true },
  },
  { later: 500, reach: true, lacking: { points: 0, complete: false } },
  { later: 1, reach: false, lacking: { points: 0, complete: false } },
] as const;

for (const { later, reach, lacking } of LACKING_CASES) {
  Deno.test(
    `a snapshot lacking a catalogue metric, ${later} days on${
      reach ? "" : " with CloudWatch unreachable"
    }: its own series at 60 s from it, the lacking one ${
      "source" in lacking
        ? `from CloudWatch at ${"period" in lacking ? lacking.period : 60} s`
        : "empty"
    }`,
    async () => {
      await using fake = await startFakeCloudWatch();
      await using t = await testContext({ now: NOW, env: fakeCloudWatchEnv(fake) });
      const env = await t.createEnvironment("owner");
      const capture = await backfill(t, env.id, "2026-01-15T10:00:00Z");
      assert.deepEqual((await sweeperFor(t).sweepOnce()).snapshots, { stored: 1, failed: 0 });
      // The snapshot as one taken before the catalogue's newest metric joined it: no row for it.
      const newest = METRIC_TYPES[METRIC_TYPES.length - 1];
      await t.db.delete(captureSnapshotSeries).where(and(
        eq(captureSnapshotSeries.captureId, capture.id),
        eq(captureSnapshotSeries.type, newest),
      ));
      t.clock.advance(later * DAY_MS);
      if (!reach) await fake.close();
      const callsBefore = fake.calls.length;

      const body = await read(t, capture.id);
      assert.equal(body.source, "snapshot");
      assert.equal(body.period, 60);
      assert.equal(body.complete, lacking.complete);
      assert.deepEqual(body.series.map((s) => s.type), [...METRIC_TYPES]);
      for (const series of body.series.slice(0, -1)) {
        assert.deepEqual(
          { ...series, datapoints: series.datapoints.length },
          { ...series, complete: true, datapoints: 60 },
        );
        assert.equal("source" in series || "period" in series, false, series.type);
      }
      const last = body.series.at(-1)!;
      assert.deepEqual(
        { ...last, label: undefined, unit: undefined, datapoints: last.datapoints.length },
        {
          type: newest,
          label: undefined,
          unit: undefined,
          complete: lacking.complete,
          datapoints: lacking.points,
          ...("source" in lacking ? { source: lacking.source } : {}),
          ...("period" in lacking ? { period: lacking.period } : {}),
        },
      );
      const asked = fake.calls.slice(callsBefore);
      if ("source" in lacking) {
        // One GetMetricData call, for just the series the snapshot lacks.
        assert.equal(asked.length, 1);
        assert.deepEqual(
          asked[0].body.MetricDataQueries.map((
            q: { MetricStat: { Metric: { MetricName: string } } },
          ) => q.MetricStat.Metric.MetricName),
          [newest],
        );
      } else if (reach) assert.equal(asked.length, 0, "CloudWatch no longer has the window");
    },
  );
}

Deno.test("a request a snapshot holds entirely is served from it, without CloudWatch", async () => {
  await using fake = await startFakeCloudWatch();
  await using t = await testContext({ now: NOW, env: fakeCloudWatchEnv(fake) });
  const env = await t.createEnvironment("owner");
  const capture = await backfill(t, env.id, "2026-01-15T10:00:00Z");
  assert.deepEqual((await sweeperFor(t).sweepOnce()).snapshots, { stored: 1, failed: 0 });
  await t.db.delete(captureSnapshotSeries).where(and(
    eq(captureSnapshotSeries.captureId, capture.id),
    eq(captureSnapshotSeries.type, METRIC_TYPES[METRIC_TYPES.length - 1]),
  ));
  const callsBefore = fake.calls.length;
  assert.equal((await read(t, capture.id, "?type=CPUUtilization")).source, "snapshot");
  assert.equal(fake.calls.length, callsBefore);
});

Deno.test("sweepOnce() past QUOTA_SNAPSHOT_BYTES_PER_ENVIRONMENT stores what fits, marked incomplete; reads fall back to CloudWatch, then answer incomplete", async () => {
  await using fake = await startFakeCloudWatch();
  await using t = await testContext({ now: NOW, env: fakeCloudWatchEnv(fake) });
  const env = await t.createEnvironment("owner");
  const other = await t.createEnvironment("owner");
  await backfill(t, env.id, "2026-01-15T09:00:00Z");
  // The default quota (256 MiB) holds a snapshot easily.
  assert.equal(t.config.quotas.snapshotBytesPerEnvironment, 256 * 1024 * 1024);
  assert.deepEqual((await sweeperFor(t).sweepOnce()).snapshots, { stored: 1, failed: 0 });
  const one = await storedSnapshotBytes(t.db, env.id);
  assert.ok(one > 0);

  // Room for half of another snapshot in `env`; `other` is empty.
  const limit = Math.floor(one * 1.5);
  const sweeper = sweeperFor(t, { snapshotBytesPerEnvironment: limit });
  const half = await backfill(t, env.id, "2026-01-15T10:00:00Z");
  const elsewhere = await backfill(t, other.id, "2026-01-15T10:00:00Z");
  assert.deepEqual((await sweeper.sweepOnce()).snapshots, { stored: 2, failed: 0 });
  const stored = await storedSnapshotBytes(t.db, env.id);
  assert.ok(stored <= limit && stored > one, `${stored} of ${limit}`);
  assert.deepEqual(omitTakenAt(await findSnapshotHeader(t.db, half.id)), {
    period: 60,
    complete: false,
  });
  assert.deepEqual(omitTakenAt(await findSnapshotHeader(t.db, elsewhere.id)), {
    period: 60,
    complete: true,
  });
  const rows = await t.db.select().from(captureSnapshotSeries)
    .where(eq(captureSnapshotSeries.captureId, half.id));
  const full = 3 * METRIC_TYPES.length;
  assert.ok(rows.length > 0 && rows.length < full, `${rows.length} series`);
  // The series kept come first: every Average one.
  assert.equal(rows.filter((r) => r.stat === "Average").length, METRIC_TYPES.length);
  const warnings = t.logLines.map((line) => JSON.parse(line))
    .filter((line) =>
      line.level === "warn" && /QUOTA_SNAPSHOT_BYTES_PER_ENVIRONMENT/.test(line.msg)
    );
  assert.equal(warnings.length, 1, t.logLines.join("\n"));
  assert.equal(warnings[0].captureId, half.id);
  assert.equal(warnings[0].seriesKept, rows.length);

  // Full: the next snapshot is a header without series, and the sweep does not fail.
  const none = await backfill(t, env.id, "2026-01-15T10:30:00Z");
  assert.deepEqual((await sweeper.sweepOnce()).snapshots, { stored: 1, failed: 0 });
  assert.deepEqual(omitTakenAt(await findSnapshotHeader(t.db, none.id)), {
    period: 60,
    complete: false,
  });
  assert.deepEqual(await findSnapshotSeries(t.db, none.id, "Average", [...METRIC_TYPES]), []);
  assert.equal(await storedSnapshotBytes(t.db, env.id), stored);

  // A series kept is served from the snapshot (incomplete); one left out comes from CloudWatch
  // while it has it, and then answers empty and incomplete.
  const kept = await read(t, half.id, "?stat=Average");
  assert.equal(kept.source, "snapshot");
  assert.equal(kept.complete, false);
  const missing = await read(t, none.id, "?stat=Maximum&type=CPUUtilization");
  // The answer stands on the snapshot's header; the series it lacks is fetched from CloudWatch.
  assert.equal(missing.source, "snapshot");
  assert.equal((missing.series[0] as { source?: string }).source, "cloudwatch");
  assert.equal(missing.series[0].datapoints.length, 60);
  t.clock.advance(16 * DAY_MS); // past CloudWatch's 15 days of 1-minute data
  const coarser = await read(t, none.id, "?stat=Maximum&type=CPUUtilization&period=60");
  const series = coarser.series[0] as { source?: string; period?: number; complete: boolean };
  assert.deepEqual([series.source, series.period], ["cloudwatch", 300]);
  t.clock.advance(500 * DAY_MS); // past CloudWatch's 455 days
  const gone = await read(t, none.id, "?stat=Maximum&type=CPUUtilization&period=60");
  assert.equal(gone.source, "snapshot");
  assert.equal(gone.complete, false);
  assert.deepEqual(gone.series.map((s) => [s.type, s.complete, s.datapoints.length]), [[
    "CPUUtilization",
    false,
    0,
  ]]);
});
