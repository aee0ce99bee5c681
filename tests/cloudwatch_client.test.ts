import assert from "node:assert/strict";
import { createCloudWatchClient, type GetMetricDataRequest } from "../metrics/cloudwatch.ts";
import { METRIC_TYPES } from "../metrics/catalogue.ts";
import { generatedValue, startFakeCloudWatch, TEST_CREDENTIALS } from "./fakes/cloudwatch.ts";
import { clientFor, rejection } from "./helpers/cloudwatch_client.ts";

const T0 = Date.UTC(2026, 0, 15, 10, 0, 0) / 1000;
const SECRET = TEST_CREDENTIALS.secretAccessKey;

function request(overrides: Partial<GetMetricDataRequest> = {}): GetMetricDataRequest {
  return {
    region: "us-east-1",
    credentials: TEST_CREDENTIALS,
    dbInstanceIdentifier: "prod-mysql-1",
    metrics: ["CPUUtilization", "ReadIOPS"],
    stat: "Average",
    period: 60,
    startTime: T0,
    endTime: T0 + 3600,
    ...overrides,
  };
}

function assertNoSecrets(text: string) {
  assert.ok(!text.includes(SECRET), `secret key leaked: ${text}`);
  assert.ok(!/Signature=[0-9a-f]{64}/.test(text), `signature leaked: ${text}`);
  assert.ok(!text.includes("AWS4-HMAC-SHA256 Credential"), `Authorization leaked: ${text}`);
}

Deno.test("getMetricData() returns the fake's values and timestamps for a window", async () => {
  await using fake = await startFakeCloudWatch();
  fake.setSeries("CPUUtilization", "prod-mysql-1", [[T0, 12.5], [T0 + 60, 13.25], [T0 + 7200, 99]]);
  const { client } = clientFor(fake);
  const result = await client.getMetricData(request());
  assert.equal(result.complete, true);
  assert.deepEqual(result.messages, []);
  const [cpu, iops] = result.series;
  assert.deepEqual(cpu, {
    type: "CPUUtilization",
    label: "CPU utilization",
    unit: "Percent",
    complete: true,
    datapoints: [
      { timestamp: "2026-01-15T10:00:00.000Z", value: 12.5 },
      { timestamp: "2026-01-15T10:01:00.000Z", value: 13.25 },
    ],
  });
  assert.equal(iops.type, "ReadIOPS");
  assert.equal(iops.unit, "Count/Second");
  assert.equal(iops.datapoints.length, 60);
  assert.deepEqual(iops.datapoints[59], {
    timestamp: "2026-01-15T10:59:00.000Z",
    value: generatedValue("ReadIOPS", "prod-mysql-1", T0 + 3540),
  });
});

Deno.test("getMetricData() sends one query per metric, without Unit, with numeric times", async () => {
  await using fake = await startFakeCloudWatch();
  const { client } = clientFor(fake);
  await client.getMetricData(request({ metrics: ["ReadLatency", "ReadLatency", "SwapUsage"] }));
  assert.equal(fake.calls.length, 1);
  const [call] = fake.calls;
  assert.equal(call.target, "GraniteServiceVersion20100801.GetMetricData");
  assert.equal(call.region, "us-east-1");
  assert.deepEqual(call.signedHeaders, ["host", "x-amz-date", "x-amz-target", "x-amzn-query-mode"]);
  assert.deepEqual(call.body, {
    MetricDataQueries: [
      {
        Id: "read_latency",
        MetricStat: {
          Metric: {
            Namespace: "AWS/RDS",
            MetricName: "ReadLatency",
            Dimensions: [{ Name: "DBInstanceIdentifier", Value: "prod-mysql-1" }],
          },
          Period: 60,
          Stat: "Average",
        },
        ReturnData: true,
      },
      {
        Id: "swap_usage",
        MetricStat: {
          Metric: {
            Namespace: "AWS/RDS",
            MetricName: "SwapUsage",
            Dimensions: [{ Name: "DBInstanceIdentifier", Value: "prod-mysql-1" }],
          },
          Period: 60,
          Stat: "Average",
        },
        ReturnData: true,
      },
    ],
    StartTime: T0,
    EndTime: T0 + 3600,
    ScanBy: "TimestampAscending",
  });
});

Deno.test("getMetricData() fetches the whole catalogue in one call per page and merges pages", async () => {
  await using fake = await startFakeCloudWatch({ pageSize: 500 });
  const { client } = clientFor(fake);
  const result = await client.getMetricData(request({ metrics: [...METRIC_TYPES] }));
  // Every series × 60 points, 500 per page.
  assert.equal(fake.calls.length, Math.ceil(METRIC_TYPES.length * 60 / 500));
  assert.equal(fake.calls[0].body.MetricDataQueries.length, METRIC_TYPES.length);
  const { NextToken, ...secondRest } = fake.calls[1].body;
  assert.equal(typeof NextToken, "string");
  assert.deepEqual(secondRest, fake.calls[0].body);
  assert.equal(result.complete, true);
  assert.deepEqual(result.series.map((s) => s.type), [...METRIC_TYPES]);
  for (const series of result.series) {
    assert.equal(series.complete, true);
    assert.equal(series.datapoints.length, 60, series.type);
    assert.equal(series.datapoints[0].timestamp, "2026-01-15T10:00:00.000Z");
    assert.equal(series.datapoints[0].value, generatedValue(series.type, "prod-mysql-1", T0));
  }
});

Deno.test("getMetricData() signs the session token of temporary credentials", async () => {
  const temporary = {
    accessKeyId: "ASIATEMP",
    secretAccessKey: "temp-secret",
    sessionToken: "tok",
  };
  await using fake = await startFakeCloudWatch({ credentials: [temporary] });
  const { client } = clientFor(fake);
  const result = await client.getMetricData(request({ credentials: temporary }));
  assert.equal(result.series[0].datapoints.length, 60);
  assert.ok(fake.calls[0].signedHeaders.includes("x-amz-security-token"));
});

Deno.test("getMetricData() retries throttling with jittered backoff and then succeeds", async () => {
  await using fake = await startFakeCloudWatch();
  fake.faults.push("throttle", "http429", "throttle");
  const { client, delays, events } = clientFor(fake, { random: () => 1 });
  const result = await client.getMetricData(request());
  assert.equal(result.complete, true);
  assert.deepEqual(fake.calls.map((c) => c.status), [400, 429, 400, 200]);
  assert.deepEqual(delays, [10, 20, 40]);
  assert.deepEqual(events.map((e) => e.outcome), ["throttled", "throttled", "throttled", "ok"]);
  assert.equal(events[0].code, "Throttling");
});

Deno.test("getMetricData() reports persistent throttling as throttled with a retry delay", async () => {
  await using fake = await startFakeCloudWatch();
  fake.faults.push("throttle", "throttle", "throttle", "throttle", "throttle");
  const { client } = clientFor(fake);
  const err = await rejection(client.getMetricData(request()));
  assert.equal(err.kind, "throttled");
  assert.equal(err.status, 400);
  assert.equal(err.code, "Throttling");
  assert.equal(err.message, "Rate exceeded");
  assert.equal(err.attempts, 4);
  assert.equal(err.retryAfterSeconds, 1);
  assert.equal(fake.calls.length, 4);
});

Deno.test("getMetricData() times out a hanging CloudWatch within its budget", async () => {
  await using fake = await startFakeCloudWatch();
  fake.faults.push("hang", "hang", "hang", "hang");
  const { client } = clientFor(fake, { attemptTimeoutMs: 150, totalBudgetMs: 400 });
  const started = performance.now();
  const err = await rejection(client.getMetricData(request()));
  const elapsed = performance.now() - started;
  assert.equal(err.kind, "timeout");
  assert.equal(err.status, undefined);
  assert.ok(elapsed < 700, `took ${elapsed} ms`);
  // Two full attempts fit in 400 ms; the third gets only what is left of the budget.
  assert.ok(fake.calls.length >= 2 && fake.calls.length <= 3, `${fake.calls.length} attempts`);
});

Deno.test("getMetricData() recovers when one attempt hangs", async () => {
  await using fake = await startFakeCloudWatch();
  fake.faults.push("hang");
  const { client, events } = clientFor(fake, { attemptTimeoutMs: 100 });
  const result = await client.getMetricData(request());
  assert.equal(result.series.length, 2);
  assert.deepEqual(events.map((e) => e.outcome), ["timeout", "ok"]);
});

Deno.test("getMetricData() retries 5xx answers and HTML bodies, then reports a bad answer", async () => {
  await using fake = await startFakeCloudWatch();
  fake.faults.push("http500", "http503", "html502", "html502");
  const { client } = clientFor(fake);
  const err = await rejection(client.getMetricData(request()));
  assert.equal(err.kind, "bad_answer");
  assert.equal(err.status, 502);
  assert.equal(err.code, undefined);
  assert.equal(err.message, "CloudWatch answered HTTP 502 with a body that is not JSON");
  assert.deepEqual(fake.calls.map((c) => c.status), [500, 503, 502, 502]);
});

Deno.test("getMetricData() retries a truncated JSON body, then reports a bad answer", async () => {
  await using fake = await startFakeCloudWatch();
  fake.faults.push("malformed", "malformed", "malformed", "malformed");
  const { client } = clientFor(fake);
  const err = await rejection(client.getMetricData(request()));
  assert.equal(err.kind, "bad_answer");
  assert.equal(err.status, 200);
  assert.equal(fake.calls.length, 4);
});

Deno.test("getMetricData() succeeds after one 500 Internal Service Fault", async () => {
  await using fake = await startFakeCloudWatch();
  fake.faults.push("http500");
  const { client, events } = clientFor(fake);
  await client.getMetricData(request());
  assert.equal(events[0].code, "InternalServiceError");
  assert.equal(fake.calls.length, 2);
});

Deno.test("getMetricData() does not retry AccessDenied and passes AWS's message on", async () => {
  await using fake = await startFakeCloudWatch();
  fake.faults.push("accessDenied");
  const { client } = clientFor(fake);
  const err = await rejection(client.getMetricData(request()));
  assert.equal(err.kind, "bad_answer");
  assert.equal(err.status, 403);
  assert.equal(err.code, "AccessDenied");
  assert.match(err.message, /not authorized to perform: cloudwatch:GetMetricData/);
  assert.equal(fake.calls.length, 1);
});

Deno.test("getMetricData() does not retry an unknown access key", async () => {
  await using fake = await startFakeCloudWatch();
  const { client } = clientFor(fake);
  const stranger = { accessKeyId: "AKIASTRANGER", secretAccessKey: SECRET };
  const err = await rejection(client.getMetricData(request({ credentials: stranger })));
  assert.equal(err.kind, "bad_answer");
  assert.equal(err.code, "InvalidClientTokenId");
  assert.equal(fake.calls.length, 1);
});

Deno.test("getMetricData() reports a Forbidden result as a bad answer", async () => {
  await using fake = await startFakeCloudWatch();
  fake.faults.push("forbiddenResult");
  const { client } = clientFor(fake);
  const err = await rejection(client.getMetricData(request()));
  assert.equal(err.kind, "bad_answer");
  assert.equal(err.code, "Forbidden");
  assert.match(err.message, /Authentication too complex/);
});

Deno.test("getMetricData() marks series incomplete on PartialData or InternalError", async () => {
  await using fake = await startFakeCloudWatch();
  fake.faults.push("partial", "internalErrorResult");
  const { client } = clientFor(fake);
  for (let i = 0; i < 2; i++) {
    const result = await client.getMetricData(request());
    assert.equal(result.complete, false);
    assert.ok(result.series.every((s) => !s.complete && s.datapoints.length === 60));
  }
});

Deno.test("getMetricData() reads exponent timestamps, skips NaN values and sorts points", async () => {
  await using fake = await startFakeCloudWatch();
  fake.faults.push("expTimestamps", "nanValues", "descendingUnsorted");
  const { client } = clientFor(fake);
  const exp = await client.getMetricData(request());
  assert.equal(exp.series[0].datapoints[0].timestamp, "2026-01-15T10:00:00.000Z");
  assert.equal(exp.series[0].datapoints.length, 60);
  const nan = await client.getMetricData(request());
  assert.equal(nan.series[0].datapoints.length, 40);
  assert.ok(nan.series[0].datapoints.every((p) => Number.isFinite(p.value)));
  const shuffled = await client.getMetricData(request());
  const times = shuffled.series[0].datapoints.map((p) => p.timestamp);
  assert.equal(times.length, 60);
  assert.deepEqual(times, [...times].sort());
});

Deno.test("getMetricData() reports a refused connection as a bad answer", async () => {
  const fake = await startFakeCloudWatch();
  const { client } = clientFor(fake);
  await fake.close();
  const err = await rejection(client.getMetricData(request()));
  assert.equal(err.kind, "bad_answer");
  assert.equal(err.status, undefined);
  assert.match(err.message, /^Could not reach CloudWatch at 127\.0\.0\.1:\d+/);
  assert.equal(err.attempts, 4);
});

Deno.test("getMetricData() never sleeps past its total budget", async () => {
  let clock = 0;
  const delays: number[] = [];
  const throttle = () =>
    Promise.resolve(
      new Response(JSON.stringify({ __type: "x#ThrottlingException", message: "Rate exceeded" }), {
        status: 400,
      }),
    );
  const client = createCloudWatchClient({
    endpoint: "http://cloudwatch.test/",
    fetch: throttle,
    now: () => clock,
    totalBudgetMs: 1000,
    baseDelayMs: 400,
    maxDelayMs: 5000,
    maxAttempts: 10,
    random: () => 1,
    sleep: (ms) => {
      delays.push(ms);
      clock += ms;
      return Promise.resolve();
    },
  });
  const err = await rejection(client.getMetricData(request()));
  assert.equal(err.kind, "throttled");
  assert.equal(err.code, "ThrottlingException");
  // 400 then 800 would end at 1200 ms, past the 1000 ms budget, so it stops after one sleep.
  assert.deepEqual(delays, [400]);
  assert.equal(err.attempts, 2);
});

Deno.test("getMetricData() errors and logs never contain the secret key or session token", async () => {
  const temporary = {
    accessKeyId: "ASIATEMP",
    secretAccessKey: SECRET,
    sessionToken: "FwoGZXIvYXdzEXAMPLETOKEN",
  };
  // CloudWatch echoes the canonical request in some errors; this answer does so, plus the secrets.
  const echo = (req: Request) =>
    Promise.resolve(
      new Response(
        JSON.stringify({
          __type: "com.amazon.coral.service#InvalidSignatureException",
          message: `Bad signature. Authorization: ${req.headers.get("authorization")}\n` +
            `x-amz-security-token:${temporary.sessionToken}\nsecret ${SECRET}`,
        }),
        { status: 403, headers: { "x-amzn-query-error": "SignatureDoesNotMatch;Sender" } },
      ),
    );
  const events: Array<Record<string, unknown>> = [];
  const client = createCloudWatchClient({
    endpoint: "http://cloudwatch.test/",
    fetch: (input) => echo(input as Request),
    logger: (e) => events.push(e),
  });
  const err = await rejection(client.getMetricData(request({ credentials: temporary })));
  assert.equal(err.code, "SignatureDoesNotMatch");
  for (
    const text of [err.message, JSON.stringify(err), String(err.stack), JSON.stringify(events)]
  ) {
    assertNoSecrets(text);
    assert.ok(!text.includes(temporary.sessionToken), `session token leaked: ${text}`);
  }
  assert.match(err.message, /^Bad signature\./);

  await using fake = await startFakeCloudWatch();
  fake.faults.push("throttle", "accessDenied");
  const logged: Array<Record<string, unknown>> = [];
  const { client: real } = clientFor(fake, { logger: (e) => logged.push(e) });
  const denied = await rejection(real.getMetricData(request()));
  assertNoSecrets(denied.message + JSON.stringify(logged));
});

Deno.test("getMetricData() refuses a region that is not an AWS region name", async () => {
  let fetched = 0;
  const client = createCloudWatchClient({
    fetch: () => {
      fetched++;
      return Promise.resolve(new Response("{}"));
    },
  });
  const err = await rejection(client.getMetricData(request({ region: "evil.example/#" })));
  assert.equal(err.code, "InvalidRegion");
  assert.equal(fetched, 0);
});

Deno.test("getMetricData() fills {region} in the endpoint template", async () => {
  const urls: string[] = [];
  const client = createCloudWatchClient({
    fetch: (input) => {
      urls.push((input as Request).url);
      return Promise.resolve(new Response(JSON.stringify({ MetricDataResults: [] })));
    },
  });
  const result = await client.getMetricData(request({ region: "eu-central-1" }));
  assert.deepEqual(urls, ["https://monitoring.eu-central-1.amazonaws.com/"]);
  // CloudWatch sent no result for the queries, so the series cannot be called complete.
  assert.equal(result.complete, false);
  assert.equal(result.series[0].datapoints.length, 0);
});
