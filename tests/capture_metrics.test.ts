import assert from "node:assert/strict";
import { METRIC_TYPES } from "../metrics/catalogue.ts";
import { createSnapshotter } from "../metrics/snapshotter.ts";
import {
  fakeCloudWatchEnv,
  generatedValue,
  startFakeCloudWatch,
  TEST_CREDENTIALS,
} from "./fakes/cloudwatch.ts";
import { type TestContext, testContext } from "./helpers/context.ts";
import { assertProblem } from "./helpers/problem.ts";

const NOW = "2026-01-15T12:00:00Z";
const DB_ID = "prod-mysql-1";
const HOUR = 3600;
const DAY_MS = 86_400_000;

/** A second key pair the fake accepts, stored on one environment only. */
const ENV_CREDENTIALS = {
  accessKeyId: "AKIAENVIRONMENTKEY01",
  secretAccessKey: "EnvOnlySecretKeyThatMustNeverBeShown+xyz",
};

const iso = (ms: number) => new Date(ms).toISOString();
const seconds = (isoTime: string) => Date.parse(isoTime) / 1000;

async function createCapture(t: TestContext, body: Record<string, unknown>, user = "owner") {
  const res = await t.as(user).post("/api/captures", {
    name: `capture-${crypto.randomUUID().slice(0, 8)}`,
    ...body,
  });
  const text = await res.text();
  assert.equal(res.status, 201, text);
  return JSON.parse(text) as { id: number; status: string; start: string; end: string | null };
}

/** A DONE capture over `[start, start + duration)`, made through POST /api/captures. */
async function backfill(t: TestContext, envId: number, start: string, duration = HOUR) {
  const capture = await createCapture(t, { envId, start, duration });
  assert.equal(capture.status, "DONE");
  return capture;
}

interface Body {
  captureId: number;
  start: string;
  end: string;
  period: number;
  stat: string;
  source: string;
  complete: boolean;
  series: Array<{
    type: string;
    label: string;
    unit: string;
    complete: boolean;
    datapoints: Array<{ timestamp: string; value: number }>;
  }>;
}

async function metrics(t: TestContext, id: number, query = "", user = "owner") {
  const res = await t.as(user).get(`/api/captures/${id}/metrics${query}`);
  const text = await res.text();
  assert.equal(res.status, 200, text);
  return JSON.parse(text) as Body;
}

function assertAscending(body: Body) {
  for (const s of body.series) {
    const times = s.datapoints.map((p) => Date.parse(p.timestamp));
    assert.ok(times.every((t, i) => i === 0 || t > times[i - 1]), `${s.type} is not ascending`);
  }
}

Deno.test("GET /api/captures/{id}/metrics answers a backfilled window with the fake's values and timestamps", async () => {
  await using fake = await startFakeCloudWatch();
  await using t = await testContext({ now: NOW, env: fakeCloudWatchEnv(fake) });
  const env = await t.createEnvironment("owner");
  const capture = await backfill(t, env.id, "2026-01-15T10:00:00Z");

  const body = await metrics(t, capture.id);

  const { series, ...rest } = body;
  assert.deepEqual(rest, {
    captureId: capture.id,
    start: "2026-01-15T10:00:00.000Z",
    end: "2026-01-15T11:00:00.000Z",
    period: 60,
    stat: "Average",
    source: "cloudwatch",
    complete: true,
  });
  assert.deepEqual(series.map((s) => s.type), [...METRIC_TYPES]);
  const start = seconds("2026-01-15T10:00:00Z");
  for (const s of series) {
    assert.deepEqual(Object.keys(s).sort(), ["complete", "datapoints", "label", "type", "unit"]);
    assert.equal(s.complete, true);
    assert.deepEqual(
      s.datapoints,
      Array.from({ length: 60 }, (_, k) => ({
        timestamp: iso((start + 60 * k) * 1000),
        value: generatedValue(s.type, DB_ID, start + 60 * k),
      })),
      s.type,
    );
  }
  const cpu = series[0];
  assert.deepEqual([cpu.label, cpu.unit], ["CPU utilization", "Percent"]);
  assertAscending(body);
});

Deno.test("GET /api/captures/{id}/metrics serves fixed points exactly, ascending", async () => {
  await using fake = await startFakeCloudWatch();
  await using t = await testContext({ now: NOW, env: fakeCloudWatchEnv(fake) });
  const env = await t.createEnvironment("owner");
  const capture = await backfill(t, env.id, "2026-01-15T10:00:00Z", 600);
  const t0 = seconds("2026-01-15T10:00:00Z");
  // Registered out of order, with a gap and one point outside the window.
  fake.setSeries("DatabaseConnections", DB_ID, [
    [t0 + 300, 7],
    [t0, 3],
    [t0 + 60, 4.5],
    [t0 + 600, 99],
  ]);

  const body = await metrics(t, capture.id, "?type=DatabaseConnections");

  assert.deepEqual(body.series[0].datapoints, [
    { timestamp: "2026-01-15T10:00:00.000Z", value: 3 },
    { timestamp: "2026-01-15T10:01:00.000Z", value: 4.5 },
    { timestamp: "2026-01-15T10:05:00.000Z", value: 7 },
  ]);
  assert.deepEqual(body.series[0].unit, "Count");
});

Deno.test("GET /api/captures/{id}/metrics fetches the whole catalogue in one GetMetricData call per page", async () => {
  // Every series has 60 points, in pages of at most 200 datapoints.
  await using fake = await startFakeCloudWatch({ pageSize: 200 });
  await using t = await testContext({ now: NOW, env: fakeCloudWatchEnv(fake) });
  const env = await t.createEnvironment("owner");
  const capture = await backfill(t, env.id, "2026-01-15T10:00:00Z");

  const body = await metrics(t, capture.id);

  assert.equal(fake.calls.length, Math.ceil(METRIC_TYPES.length * 60 / 200));
  for (const [i, call] of fake.calls.entries()) {
    assert.equal(call.status, 200);
    assert.equal(call.target, "GraniteServiceVersion20100801.GetMetricData");
    const names = call.body.MetricDataQueries.map(
      (q: { MetricStat: { Metric: { MetricName: string } } }) => q.MetricStat.Metric.MetricName,
    );
    assert.deepEqual(names, [...METRIC_TYPES]);
    assert.equal(call.body.NextToken === undefined, i === 0);
  }
  assert.equal(body.complete, true);
  assert.ok(body.series.every((s) => s.complete && s.datapoints.length === 60));
  assertAscending(body);
});

Deno.test("GET /api/captures/{id}/metrics reads only the requested types, accepting old aliases", async () => {
  await using fake = await startFakeCloudWatch();
  await using t = await testContext({ now: NOW, env: fakeCloudWatchEnv(fake) });
  const env = await t.createEnvironment("owner");
  const capture = await backfill(t, env.id, "2026-01-15T10:00:00Z");

  const body = await metrics(
    t,
    capture.id,
    "?type=CPU%20UTILIZATION&type=ReadIOPS&type=freeable_memory&type=CPUUtilization",
  );

  assert.deepEqual(body.series.map((s) => s.type), [
    "CPUUtilization",
    "ReadIOPS",
    "FreeableMemory",
  ]);
  assert.equal(fake.calls.length, 1);
  assert.deepEqual(
    fake.calls[0].body.MetricDataQueries.map(
      (q: { MetricStat: { Metric: { MetricName: string } } }) => q.MetricStat.Metric.MetricName,
    ),
    ["CPUUtilization", "ReadIOPS", "FreeableMemory"],
  );
});

Deno.test("GET /api/captures/{id}/metrics answers 400 naming type.N for an unknown type", async () => {
  await using fake = await startFakeCloudWatch();
  await using t = await testContext({ now: NOW, env: fakeCloudWatchEnv(fake) });
  const env = await t.createEnvironment("owner");
  const capture = await backfill(t, env.id, "2026-01-15T10:00:00Z");

  const one = await assertProblem(
    await t.as("owner").get(`/api/captures/${capture.id}/metrics?type=Bogus`),
    400,
  );
  assert.deepEqual(one.errors?.map((e) => e.path), ["type.0"]);
  assert.match(one.errors![0].message, /Bogus/);

  const second = await assertProblem(
    await t.as("owner").get(
      `/api/captures/${capture.id}/metrics?type=CPUUtilization&type=Nope&stat=Median`,
    ),
    400,
  );
  assert.deepEqual(second.errors?.map((e) => e.path), ["type.1", "stat"]);
  assert.match(second.detail, /type\.1/);
  assert.equal(fake.calls.length, 0);
});

Deno.test("GET /api/captures/{id}/metrics passes a percentile stat on and answers 400 for Median", async () => {
  await using fake = await startFakeCloudWatch();
  await using t = await testContext({ now: NOW, env: fakeCloudWatchEnv(fake) });
  const env = await t.createEnvironment("owner");
  const capture = await backfill(t, env.id, "2026-01-15T10:00:00Z");

  const average = await metrics(t, capture.id, "?type=CPUUtilization");
  assert.equal(average.stat, "Average");
  assert.equal(fake.calls[0].body.MetricDataQueries[0].MetricStat.Stat, "Average");

  const p99 = await metrics(t, capture.id, "?type=CPUUtilization&stat=p99");
  assert.equal(p99.stat, "p99");
  assert.equal(fake.calls[1].body.MetricDataQueries[0].MetricStat.Stat, "p99");

  const median = await assertProblem(
    await t.as("owner").get(`/api/captures/${capture.id}/metrics?stat=Median`),
    400,
  );
  assert.deepEqual(median.errors?.map((e) => e.path), ["stat"]);
  assert.match(median.detail, /stat/);
  assert.equal(fake.calls.length, 2);
});

Deno.test("GET /api/captures/{id}/metrics answers 400 naming period when it is not a multiple of 60", async () => {
  await using fake = await startFakeCloudWatch();
  await using t = await testContext({ now: NOW, env: fakeCloudWatchEnv(fake) });
  const env = await t.createEnvironment("owner");
  const capture = await backfill(t, env.id, "2026-01-15T10:00:00Z");

  const body = await assertProblem(
    await t.as("owner").get(`/api/captures/${capture.id}/metrics?period=90`),
    400,
  );
  assert.deepEqual(body.errors?.map((e) => e.path), ["period"]);
  assert.match(body.errors![0].message, /multiple of 60/);
  assert.equal(fake.calls.length, 0);

  const fine = await metrics(t, capture.id, "?type=CPUUtilization&period=300");
  assert.equal(fine.period, 300);
  assert.equal(fine.series[0].datapoints.length, 12);
  assert.equal(fake.calls[0].body.MetricDataQueries[0].MetricStat.Period, 300);
});

Deno.test("GET /api/captures/{id}/metrics chooses a default period that keeps a series within 1,440 points", async () => {
  await using fake = await startFakeCloudWatch();
  await using t = await testContext({ now: NOW, env: fakeCloudWatchEnv(fake) });
  const env = await t.createEnvironment("owner");
  // Two days starting 30 s past a minute: 120 s would make 1,441 aligned points, so 180 it is.
  const capture = await backfill(t, env.id, "2026-01-12T00:00:30Z", 2 * 86_400);

  const body = await metrics(t, capture.id, "?type=CPUUtilization");

  assert.equal(body.period, 180);
  const points = body.series[0].datapoints;
  assert.equal(points.length, 961);
  assert.ok(points.length <= 1440);
  assert.equal(points[0].timestamp, "2026-01-12T00:00:00.000Z");
  assert.equal(fake.calls[0].body.MetricDataQueries[0].MetricStat.Period, 180);
});

Deno.test("GET /api/captures/{id}/metrics refuses period=60 for a window that started 20 days ago", async () => {
  await using fake = await startFakeCloudWatch();
  await using t = await testContext({ now: NOW, env: fakeCloudWatchEnv(fake) });
  const env = await t.createEnvironment("owner");
  const capture = await backfill(t, env.id, iso(Date.parse(NOW) - 20 * DAY_MS));

  const refused = await assertProblem(
    await t.as("owner").get(`/api/captures/${capture.id}/metrics?period=60`),
    400,
  );
  assert.deepEqual(refused.errors?.map((e) => e.path), ["period"]);
  assert.match(refused.detail, /1-minute data is kept 15 days/);
  assert.match(refused.detail, /20 days ago/);
  assert.equal(fake.calls.length, 0);

  const body = await metrics(t, capture.id, "?type=CPUUtilization");
  assert.equal(body.period % 300, 0);
  assert.equal(fake.calls[0].body.MetricDataQueries[0].MetricStat.Period, body.period);
  assert.equal(body.series[0].datapoints.length, HOUR / body.period);
});

Deno.test("GET /api/captures/{id}/metrics answers a RUNNING capture up to now, incomplete", async () => {
  await using fake = await startFakeCloudWatch();
  await using t = await testContext({ now: NOW, env: fakeCloudWatchEnv(fake) });
  const env = await t.createEnvironment("owner");
  const capture = await createCapture(t, { envId: env.id, start: "2026-01-15T11:30:00Z" });
  assert.equal(capture.status, "RUNNING");

  const body = await metrics(t, capture.id);

  assert.equal(body.start, "2026-01-15T11:30:00.000Z");
  assert.equal(body.end, "2026-01-15T12:00:00.000Z");
  assert.equal(body.source, "cloudwatch");
  assert.equal(body.complete, false);
  assert.ok(body.series.every((s) => s.complete === false));
  assert.ok(body.series.every((s) => s.datapoints.length === 30));
  assert.equal(fake.calls[0].body.EndTime, seconds(NOW));

  t.clock.advance(10 * 60_000);
  const later = await metrics(t, capture.id, "?type=CPUUtilization");
  assert.equal(later.end, "2026-01-15T12:10:00.000Z");
  assert.equal(later.series[0].datapoints.length, 40);
});

Deno.test("GET /api/captures/{id}/metrics signs with the environment's credentials, else the server's", async () => {
  await using fake = await startFakeCloudWatch({
    credentials: [TEST_CREDENTIALS, ENV_CREDENTIALS],
  });
  await using t = await testContext({ now: NOW, env: fakeCloudWatchEnv(fake) });
  const own = await t.createEnvironment("owner", { credentials: ENV_CREDENTIALS });
  const shared = await t.createEnvironment("owner");
  const ownCapture = await backfill(t, own.id, "2026-01-15T10:00:00Z");
  const sharedCapture = await backfill(t, shared.id, "2026-01-15T10:00:00Z");

  const texts: string[] = [];
  for (const id of [ownCapture.id, sharedCapture.id, ownCapture.id]) {
    const res = await t.as("owner").get(`/api/captures/${id}/metrics?type=CPUUtilization`);
    const text = await res.text();
    assert.equal(res.status, 200, text);
    texts.push(text);
  }
  for (const path of [`/api/environments/${own.id}`, `/api/captures/${ownCapture.id}`]) {
    texts.push(await (await t.as("owner").get(path)).text());
  }

  assert.deepEqual(fake.calls.map((c) => [c.accessKeyId, c.status]), [
    [ENV_CREDENTIALS.accessKeyId, 200],
    [TEST_CREDENTIALS.accessKeyId, 200],
    [ENV_CREDENTIALS.accessKeyId, 200],
  ]);
  for (const text of [...texts, ...t.logLines]) {
    assert.ok(!text.includes(ENV_CREDENTIALS.secretAccessKey), `the secret leaked: ${text}`);
    assert.ok(!text.includes(TEST_CREDENTIALS.secretAccessKey), `the secret leaked: ${text}`);
  }
  assert.ok(t.logLines.length > 0);
});

Deno.test("GET /api/captures/{id}/metrics answers 409 for a SCHEDULED capture", async () => {
  await using fake = await startFakeCloudWatch();
  await using t = await testContext({ now: NOW, env: fakeCloudWatchEnv(fake) });
  const env = await t.createEnvironment("owner");
  const capture = await createCapture(t, {
    envId: env.id,
    scheduledStart: "2026-01-15T13:00:00Z",
    duration: HOUR,
  });
  assert.equal(capture.status, "SCHEDULED");

  const body = await assertProblem(
    await t.as("owner").get(`/api/captures/${capture.id}/metrics`),
    409,
  );
  assert.match(body.detail, /SCHEDULED/);
  assert.match(body.detail, /2026-01-15T13:00:00\.000Z/);
  assert.equal(fake.calls.length, 0);
});

Deno.test("GET /api/captures/{id}/metrics answers 409 saying how to configure missing credentials", async () => {
  await using fake = await startFakeCloudWatch();
  await using t = await testContext({ now: NOW, env: { CLOUDWATCH_ENDPOINT: fake.url } });
  const env = await t.createEnvironment("owner");
  const capture = await backfill(t, env.id, "2026-01-15T10:00:00Z");

  const body = await assertProblem(
    await t.as("owner").get(`/api/captures/${capture.id}/metrics`),
    409,
  );
  assert.match(body.detail, new RegExp(`PATCH /api/environments/${env.id} with credentials`));
  assert.match(body.detail, /AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY/);
  assert.equal(fake.calls.length, 0);
});

Deno.test("GET /api/captures/{id}/metrics answers 404 to a non-member and 401 without a token", async () => {
  await using fake = await startFakeCloudWatch();
  await using t = await testContext({ now: NOW, env: fakeCloudWatchEnv(fake) });
  const env = await t.createEnvironment("owner");
  const capture = await backfill(t, env.id, "2026-01-15T10:00:00Z");

  const outsider = await assertProblem(
    await t.as("mallory").get(`/api/captures/${capture.id}/metrics`),
    404,
  );
  const missing = await assertProblem(
    await t.as("mallory").get(`/api/captures/${capture.id + 1000}/metrics`),
    404,
  );
  assert.equal(
    outsider.detail.replace(String(capture.id), "N"),
    missing.detail.replace(String(capture.id + 1000), "N"),
  );

  const anonymous = await t.as(null).get(`/api/captures/${capture.id}/metrics?stat=Median`);
  await assertProblem(anonymous, 401);
  assert.match(anonymous.headers.get("www-authenticate") ?? "", /^Bearer/);
  assert.equal(fake.calls.length, 0);

  await t.addMember(env.id, "mallory");
  assert.equal((await metrics(t, capture.id, "?type=ReadIOPS", "mallory")).series.length, 1);
});

Deno.test("GET /api/captures/{id}/metrics answers 503 with Retry-After when throttling persists", async () => {
  await using fake = await startFakeCloudWatch();
  await using t = await testContext({ now: NOW, env: fakeCloudWatchEnv(fake) });
  const env = await t.createEnvironment("owner");
  const capture = await backfill(t, env.id, "2026-01-15T10:00:00Z");
  fake.faults.push(...Array(10).fill("throttle"));

  const started = performance.now();
  const res = await t.as("owner").get(`/api/captures/${capture.id}/metrics`);
  const body = await assertProblem(res, 503);

  assert.ok(performance.now() - started < 5000);
  assert.match(res.headers.get("retry-after") ?? "", /^[1-9]\d*$/);
  assert.equal(body.detail, "CloudWatch Throttling: Rate exceeded. Retry later.");
  assert.equal(fake.calls.length, 4);
  assert.ok(fake.calls.every((c) => c.mode === "throttle" && c.status === 400));
});

Deno.test("GET /api/captures/{id}/metrics answers 502 with AWS's code for persistent 500s", async () => {
  await using fake = await startFakeCloudWatch();
  await using t = await testContext({ now: NOW, env: fakeCloudWatchEnv(fake) });
  const env = await t.createEnvironment("owner");
  const capture = await backfill(t, env.id, "2026-01-15T10:00:00Z");
  fake.faults.push(...Array(10).fill("http500"));

  const res = await t.as("owner").get(`/api/captures/${capture.id}/metrics`);
  const body = await assertProblem(res, 502);

  assert.equal(body.detail, "CloudWatch InternalServiceError: Internal service error");
  assert.equal(res.headers.get("retry-after"), null);
  assert.equal(fake.calls.length, 4);
});

Deno.test("GET /api/captures/{id}/metrics answers 502 for HTML and truncated JSON answers", async () => {
  await using fake = await startFakeCloudWatch();
  await using t = await testContext({ now: NOW, env: fakeCloudWatchEnv(fake) });
  const env = await t.createEnvironment("owner");
  const capture = await backfill(t, env.id, "2026-01-15T10:00:00Z");

  fake.faults.push(...Array(4).fill("html502"));
  const html = await assertProblem(
    await t.as("owner").get(`/api/captures/${capture.id}/metrics`),
    502,
  );
  assert.equal(html.detail, "CloudWatch answered HTTP 502 with a body that is not JSON");
  assert.ok(!html.detail.includes("<html>"));

  fake.faults.push(...Array(4).fill("malformed"));
  const truncated = await assertProblem(
    await t.as("owner").get(`/api/captures/${capture.id}/metrics`),
    502,
  );
  assert.equal(truncated.detail, "CloudWatch answered with a body that is not a JSON object");
  assert.deepEqual(fake.calls.map((c) => c.mode), [
    ...Array(4).fill("html502"),
    ...Array(4).fill("malformed"),
  ]);
});

Deno.test("GET /api/captures/{id}/metrics recovers from one 500 within its retries", async () => {
  await using fake = await startFakeCloudWatch();
  await using t = await testContext({ now: NOW, env: fakeCloudWatchEnv(fake) });
  const env = await t.createEnvironment("owner");
  const capture = await backfill(t, env.id, "2026-01-15T10:00:00Z");
  fake.faults.push("http500", "throttle");

  const body = await metrics(t, capture.id, "?type=CPUUtilization");

  assert.equal(body.series[0].datapoints.length, 60);
  assert.deepEqual(fake.calls.map((c) => c.status), [500, 400, 200]);
});

Deno.test("GET /api/captures/{id}/metrics answers 504 within 5 s when CloudWatch hangs", async () => {
  await using fake = await startFakeCloudWatch();
  await using t = await testContext({ now: NOW, env: fakeCloudWatchEnv(fake) });
  const env = await t.createEnvironment("owner");
  const capture = await backfill(t, env.id, "2026-01-15T10:00:00Z");
  fake.faults.push(...Array(10).fill("hang"));

  const started = performance.now();
  const body = await assertProblem(
    await t.as("owner").get(`/api/captures/${capture.id}/metrics`),
    504,
  );
  const elapsed = performance.now() - started;

  assert.ok(elapsed < 5000, `took ${elapsed} ms`);
  assert.ok(elapsed >= 1000, `took only ${elapsed} ms`);
  assert.match(
    body.detail,
    /^CloudWatch did not answer in time: \d+ attempts? within the \d+ ms budget\. Retry later\.$/,
  );
  assert.ok(fake.calls.length >= 2 && fake.calls.length <= 4, `${fake.calls.length} calls`);
  assert.ok(fake.calls.every((c) => c.mode === "hang"));
});

Deno.test("GET /api/captures/{id}/metrics answers 502 naming AccessDenied without the secret", async () => {
  await using fake = await startFakeCloudWatch({
    credentials: [TEST_CREDENTIALS, ENV_CREDENTIALS],
  });
  await using t = await testContext({ now: NOW, env: fakeCloudWatchEnv(fake) });
  const env = await t.createEnvironment("owner", { credentials: ENV_CREDENTIALS });
  const capture = await backfill(t, env.id, "2026-01-15T10:00:00Z");
  fake.faults.push("accessDenied", "accessDenied");

  const res = await t.as("owner").get(`/api/captures/${capture.id}/metrics`);
  const text = await res.clone().text();
  const body = await assertProblem(res, 502);

  assert.match(body.detail, /AccessDenied/);
  assert.match(body.detail, /cloudwatch:GetMetricData/);
  assert.equal(fake.calls.length, 1, "AccessDenied is not retried");
  assert.equal(fake.calls[0].accessKeyId, ENV_CREDENTIALS.accessKeyId);
  for (const line of [text, ...t.logLines]) {
    assert.ok(!line.includes(ENV_CREDENTIALS.secretAccessKey), `the secret leaked: ${line}`);
  }
});

Deno.test("GET /api/captures/{id}/metrics answers 409 for a window older than 455 days, with or without a period", async () => {
  await using fake = await startFakeCloudWatch();
  await using t = await testContext({ now: NOW, env: fakeCloudWatchEnv(fake) });
  const env = await t.createEnvironment("owner");
  const capture = await backfill(t, env.id, iso(Date.parse(NOW) - 500 * DAY_MS));

  for (const query of ["", "?period=3600", "?period=86400"]) {
    const body = await assertProblem(
      await t.as("owner").get(`/api/captures/${capture.id}/metrics${query}`),
      409,
    );
    assert.match(body.detail, /CloudWatch keeps metrics for 455 days/, query);
    assert.match(body.detail, /500 days ago/, query);
    assert.equal(body.errors, undefined, query);
  }
  assert.equal(fake.calls.length, 0);
});

Deno.test("GET /api/captures/{id}/metrics logs CloudWatch's messages at warn", async () => {
  await using fake = await startFakeCloudWatch();
  await using t = await testContext({ now: NOW, env: fakeCloudWatchEnv(fake) });
  const env = await t.createEnvironment("owner");
  const capture = await backfill(t, env.id, "2026-01-15T10:00:00Z");
  fake.faults.push("internalErrorResult");

  const res = await t.as("owner").get(`/api/captures/${capture.id}/metrics?type=ReadIOPS`);
  const text = await res.text();
  assert.equal(res.status, 200, text);
  assert.ok(!text.includes("An internal error occurred"), "messages stay out of the body");

  const warnings = t.logLines.map((line) => JSON.parse(line))
    .filter((line) => line.level === "warn" && line.msg === "cloudwatch messages");
  assert.equal(warnings.length, 1, t.logLines.join("\n"));
  assert.equal(warnings[0].captureId, capture.id);
  assert.equal(warnings[0].requestId, res.headers.get("x-request-id"));
  assert.deepEqual(warnings[0].messages, ["ReadIOPS: InternalError: An internal error occurred"]);

  // A clean answer logs nothing at warn.
  await metrics(t, capture.id, "?type=ReadIOPS");
  assert.equal(t.logLines.filter((line) => JSON.parse(line).level === "warn").length, 1);
});

Deno.test("GET /api/captures/{id}/metrics keeps secrets AWS echoes back out of the 502 and the logs", async () => {
  const temporary = {
    accessKeyId: "ASIATEMPORARYKEY0001",
    secretAccessKey: "TemporarySecretKeyThatMustNeverBeShown+abc",
    sessionToken: "FwoGZXIvYXdzEXAMPLESESSIONTOKENthatMustNeverBeShown0123456789",
  };
  await using fake = await startFakeCloudWatch({ credentials: [TEST_CREDENTIALS, temporary] });
  await using t = await testContext({ now: NOW, env: fakeCloudWatchEnv(fake) });
  const env = await t.createEnvironment("owner", { credentials: temporary });
  const capture = await backfill(t, env.id, "2026-01-15T10:00:00Z");
  fake.faults.push("echoSecrets", "echoSecrets");

  const res = await t.as("owner").get(`/api/captures/${capture.id}/metrics`);
  const text = await res.clone().text();
  const body = await assertProblem(res, 502);

  assert.match(body.detail, /^CloudWatch AccessDenied: Denied request/);
  assert.equal(fake.calls.length, 1);
  assert.equal(fake.calls[0].accessKeyId, temporary.accessKeyId);
  const signature = /Signature=([0-9a-f]{64})/.exec(fake.calls[0].authorization ?? "")?.[1];
  assert.ok(signature, "the request was signed");
  const secrets = [temporary.secretAccessKey, temporary.sessionToken, signature];
  for (const line of [text, body.detail, ...t.logLines]) {
    for (const secret of secrets) {
      assert.ok(!line.includes(secret), `${secret} leaked: ${line}`);
    }
  }
});

/** One point a minute over `[from, from + minutes)`, valued by its minute index. */
function perMinute(from: string, minutes: number): Array<[number, number]> {
  return Array.from({ length: minutes }, (_, m) => [seconds(from) + 60 * m, 10 + m]);
}

Deno.test("GET /api/captures/{id}/metrics with period=300 starts its first bucket at an odd start minute", async () => {
  await using fake = await startFakeCloudWatch();
  await using t = await testContext({ now: NOW, env: fakeCloudWatchEnv(fake) });
  const env = await t.createEnvironment("owner");
  fake.setSeries("CPUUtilization", DB_ID, perMinute("2026-01-15T10:00:00Z", 70));
  const capture = await backfill(t, env.id, "2026-01-15T10:03:00Z");

  const body = await metrics(t, capture.id, "?type=CPUUtilization&period=300");

  assert.equal(fake.calls[0].body.StartTime, seconds("2026-01-15T10:03:00Z"));
  const points = body.series[0].datapoints;
  assert.equal(points.length, 12);
  assert.deepEqual(points[0], { timestamp: "2026-01-15T10:03:00.000Z", value: 15 });
  assert.deepEqual(points[11], { timestamp: "2026-01-15T10:58:00.000Z", value: 70 });
  assert.ok(points.every((p) => p.timestamp >= body.start), "a point before the start");
});

Deno.test("GET /api/captures/{id}/metrics starts a 20-day-old odd-minute window on CloudWatch's 5-minute rounding", async () => {
  const now = "2026-02-04T12:00:00Z";
  await using fake = await startFakeCloudWatch({ dataNow: () => new Date(now) });
  await using t = await testContext({ now, env: fakeCloudWatchEnv(fake) });
  const env = await t.createEnvironment("owner");
  const capture = await backfill(t, env.id, "2026-01-15T10:03:00Z");

  const body = await metrics(t, capture.id, "?type=CPUUtilization&period=300");

  // CloudWatch would round a 10:03 StartTime of this age down to 10:00; 10:05 is asked instead.
  assert.equal(fake.calls[0].body.StartTime, seconds("2026-01-15T10:05:00Z"));
  const points = body.series[0].datapoints;
  assert.equal(points[0].timestamp, "2026-01-15T10:05:00.000Z");
  assert.ok(points.every((p) => p.timestamp >= body.start), "a point before the start");
});

Deno.test("GET /api/captures/{id}/metrics drops points CloudWatch stamps before the start minute", async () => {
  // The fake rounds as for 70-day-old data while capwatch sees a 20-day-old window: its first
  // hourly-rounded point (10:00) falls before the capture's start.
  await using fake = await startFakeCloudWatch({ dataNow: () => new Date("2026-03-26T12:00:00Z") });
  await using t = await testContext({ now: "2026-02-04T12:00:00Z", env: fakeCloudWatchEnv(fake) });
  const env = await t.createEnvironment("owner");
  const capture = await backfill(t, env.id, "2026-01-15T10:03:00Z", 2 * HOUR);

  const body = await metrics(t, capture.id, "?type=CPUUtilization&period=3600");

  const stamps = body.series[0].datapoints.map((p) => p.timestamp);
  assert.deepEqual(stamps, ["2026-01-15T11:00:00.000Z", "2026-01-15T12:00:00.000Z"]);
});

Deno.test("GET /api/captures/{id}/metrics re-buckets a snapshot from the window's start, as CloudWatch does", async () => {
  await using fake = await startFakeCloudWatch();
  await using t = await testContext({ now: NOW, env: fakeCloudWatchEnv(fake) });
  const env = await t.createEnvironment("owner");
  fake.setSeries("CPUUtilization", DB_ID, perMinute("2026-01-15T10:00:00Z", 70));
  const capture = await backfill(t, env.id, "2026-01-15T10:03:00Z");
  const queries = [
    "?type=CPUUtilization&period=300",
    "?type=CPUUtilization&stat=Maximum&period=600",
  ];
  const fromCloudWatch = [];
  for (const query of queries) fromCloudWatch.push(await metrics(t, capture.id, query));

  const snapshotter = createSnapshotter({
    db: t.db,
    cloudwatch: t.deps.cloudwatch,
    serverCredentials: t.config.awsCredentials,
    logger: t.deps.logger,
  });
  assert.deepEqual(await snapshotter.run(t.clock()), { stored: 1, failed: 0 });
  fake.dropData();

  for (const [i, query] of queries.entries()) {
    const body = await metrics(t, capture.id, query);
    assert.equal(body.source, "snapshot");
    assert.equal(body.series[0].datapoints[0].timestamp, "2026-01-15T10:03:00.000Z", query);
    assert.deepEqual(body.series, fromCloudWatch[i].series, query);
  }
});
