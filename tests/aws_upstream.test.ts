import assert from "node:assert/strict";
import { MAX_MESSAGES, PageMerger } from "../metrics/_cloudwatch_response.ts";
import { metricInfo } from "../metrics/catalogue.ts";
import { MAX_ANSWER_BYTES, parseRetryAfter } from "../metrics/aws_http.ts";
import {
  type CloudWatchClientOptions,
  type GetMetricDataRequest,
  MAX_CALL_BYTES,
} from "../metrics/cloudwatch.ts";
import {
  fakeCloudWatchEnv,
  type FakeCredential,
  startFakeCloudWatch,
  TEST_CREDENTIALS,
} from "./fakes/cloudwatch.ts";
import { clientFor, rejection } from "./helpers/cloudwatch_client.ts";
import { testContext } from "./helpers/context.ts";
import { assertProblem } from "./helpers/problem.ts";

const T0 = Date.UTC(2026, 0, 15, 10, 0, 0) / 1000;
/** Room for the fake's large answers within one attempt. */
const SLOWER: CloudWatchClientOptions = { attemptTimeoutMs: 2000, totalBudgetMs: 4000 };

/** Temporary credentials, so a followed redirect would carry a session token. */
const TEMPORARY: FakeCredential = {
  accessKeyId: "ASIATEMPORARYKEY0001",
  secretAccessKey: "TemporarySecretKeyForRedirectTests+abc",
  sessionToken: "IQoJb3JpZ2luX2VjEAMPLE-session-token-that-must-stay-home",
};

function request(credentials: FakeCredential = TEMPORARY): GetMetricDataRequest {
  return {
    region: "us-east-1",
    credentials,
    dbInstanceIdentifier: "prod-mysql-1",
    metrics: ["CPUUtilization"],
    stat: "Average",
    period: 60,
    startTime: T0,
    endTime: T0 + 3600,
  };
}

/** Another local listener standing for the redirect's target; it records what reaches it. */
function startRecorder() {
  const seen: Array<{ method: string; authorization: string | null; token: string | null }> = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    seen.push({
      method: req.method,
      authorization: req.headers.get("authorization"),
      token: req.headers.get("x-amz-security-token"),
    });
    return new Response(JSON.stringify({ MetricDataResults: [] }), {
      headers: { "content-type": "application/x-amz-json-1.0" },
    });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}/`,
    seen,
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

for (const mode of ["redirect302", "redirect307"] as const) {
  Deno.test(`getMetricData() does not follow a ${mode.slice(-3)} and never sends credentials to its target`, async () => {
    await using recorder = startRecorder();
    await using fake = await startFakeCloudWatch({ credentials: [TEMPORARY] });
    fake.redirectTo = recorder.url;
    fake.faults.push(mode);
    const { client } = clientFor(fake, SLOWER);
    const err = await rejection(client.getMetricData(request()));
    assert.equal(err.kind, "bad_answer");
    assert.equal(err.status, Number(mode.slice(-3)));
    assert.match(
      err.message,
      /CloudWatch at 127\.0\.0\.1:\d+ answered HTTP 30[27] with a redirect/,
    );
    // The request reached the fake, which checked its signature, and was not retried.
    assert.deepEqual(fake.calls.map((c) => [c.mode, c.status]), [[mode, Number(mode.slice(-3))]]);
    assert.deepEqual(fake.calls[0].signedHeaders.includes("x-amz-security-token"), true);
    assert.deepEqual(recorder.seen, []);
  });
}

Deno.test("GET /api/captures/{id}/metrics answers 502 naming CloudWatch for a redirect", async () => {
  await using recorder = startRecorder();
  await using fake = await startFakeCloudWatch();
  fake.redirectTo = recorder.url;
  await using t = await testContext({ now: "2026-01-15T12:00:00Z", env: fakeCloudWatchEnv(fake) });
  const env = await t.createEnvironment("owner");
  const created = await t.as("owner").post("/api/captures", {
    name: "redirected",
    envId: env.id,
    start: "2026-01-15T10:00:00Z",
    duration: 3600,
  });
  const { id } = await created.json();
  fake.faults.push("redirect307");
  const problem = await assertProblem(await t.as("owner").get(`/api/captures/${id}/metrics`), 502);
  assert.match(problem.detail, /CloudWatch.*redirect/);
  assert.deepEqual(recorder.seen, []);
});

Deno.test("getMetricData() stops reading an endless answer past the size cap", async () => {
  await using fake = await startFakeCloudWatch();
  fake.faults.push("hugeBody");
  const { client } = clientFor(fake, SLOWER);
  const err = await rejection(client.getMetricData(request(TEST_CREDENTIALS)));
  assert.equal(err.kind, "bad_answer");
  assert.match(err.message, new RegExp(`larger than ${MAX_ANSWER_BYTES} bytes`));
  assert.equal(fake.calls.length, 1, "an oversized answer is not asked for again");
  // The fake offered 400 MiB; the client stopped near the 10 MiB cap (stream buffers aside).
  assert.ok(fake.hugeBytesSent < 3 * MAX_ANSWER_BYTES, `read ${fake.hugeBytesSent} bytes`);
});

Deno.test("getMetricData() refuses an answer whose Content-Length is over the cap before reading it", async () => {
  await using fake = await startFakeCloudWatch();
  fake.faults.push("hugeDeclared");
  const { client } = clientFor(fake, SLOWER);
  const err = await rejection(client.getMetricData(request(TEST_CREDENTIALS)));
  assert.equal(err.kind, "bad_answer");
  assert.match(err.message, /larger than/);
  assert.ok(fake.hugeBytesSent < MAX_ANSWER_BYTES, `read ${fake.hugeBytesSent} bytes`);
});

Deno.test("parseRetryAfter() bounds seconds and HTTP-dates to 1..60 and ignores anything else", () => {
  const now = Date.parse("2026-01-15T10:00:00Z");
  assert.equal(parseRetryAfter("7", now), 7);
  assert.equal(parseRetryAfter(" 7 ", now), 7);
  assert.equal(parseRetryAfter("0", now), 1);
  assert.equal(parseRetryAfter("86400", now), 60);
  assert.equal(parseRetryAfter("9".repeat(400), now), 60);
  assert.equal(parseRetryAfter("Thu, 15 Jan 2026 10:00:30 GMT", now), 30);
  assert.equal(parseRetryAfter("Thursday, 15-Jan-26 10:00:30 GMT", now), 30);
  assert.equal(parseRetryAfter("Thu Jan 15 10:00:30 2026", now), 30);
  assert.equal(parseRetryAfter("Fri, 31 Dec 9999 23:59:59 GMT", now), 60);
  assert.equal(parseRetryAfter("Thu, 01 Jan 1970 00:00:00 GMT", now), 1);
  for (const junk of [null, "", "-5", "1.5", "1e3", "0x10", "soon", "Infinity", "Thu, 15 Jan"]) {
    assert.equal(parseRetryAfter(junk, now), undefined, String(junk));
  }
});

Deno.test("GET /api/captures/{id}/metrics bounds an absurd upstream Retry-After in its 503", async () => {
  await using fake = await startFakeCloudWatch();
  await using t = await testContext({ now: "2026-01-15T12:00:00Z", env: fakeCloudWatchEnv(fake) });
  const env = await t.createEnvironment("owner");
  const created = await t.as("owner").post("/api/captures", {
    name: "throttled",
    envId: env.id,
    start: "2026-01-15T10:00:00Z",
    duration: 3600,
  });
  const { id } = await created.json();
  for (const [sent, expected] of [["31536000", "60"], ["Fri, 31 Dec 9999 23:59:59 GMT", "60"]]) {
    fake.retryAfter = sent;
    fake.faults.push("throttle", "throttle", "throttle", "throttle");
    const res = await t.as("owner").get(`/api/captures/${id}/metrics`);
    await assertProblem(res, 503);
    assert.equal(res.headers.get("retry-after"), expected, sent);
    fake.faults.length = 0;
  }
  // A garbage value is ignored: the answer keeps capwatch's own short delay.
  fake.retryAfter = "tomorrow, maybe";
  fake.faults.push("throttle", "throttle", "throttle", "throttle");
  const res = await t.as("owner").get(`/api/captures/${id}/metrics`);
  await assertProblem(res, 503);
  assert.match(res.headers.get("retry-after") ?? "", /^[1-9]$/);
});

Deno.test("getMetricData() waits at least the upstream's Retry-After before retrying, within its budget", async () => {
  await using fake = await startFakeCloudWatch();
  fake.retryAfter = "1";
  fake.faults.push("throttle");
  const { client, delays } = clientFor(fake, SLOWER);
  const result = await client.getMetricData(request(TEST_CREDENTIALS));
  assert.equal(result.complete, true);
  assert.deepEqual(delays, [1000]);

  // A Retry-After past the budget is not waited for: the call gives up and passes it on.
  fake.retryAfter = "30";
  fake.faults.push("throttle");
  const { client: impatient, delays: none } = clientFor(fake, SLOWER);
  const err = await rejection(impatient.getMetricData(request(TEST_CREDENTIALS)));
  assert.equal(err.kind, "throttled");
  assert.equal(err.retryAfterSeconds, 30);
  assert.deepEqual(none, []);
});

Deno.test("getMetricData() keeps MAX_MESSAGES of an answer's 300,000 messages and counts the rest", async () => {
  await using fake = await startFakeCloudWatch();
  fake.faults.push("manyMessages");
  const { client } = clientFor(fake, SLOWER);
  const result = await client.getMetricData(request(TEST_CREDENTIALS));
  assert.equal(result.messages.length, MAX_MESSAGES + 1);
  assert.equal(
    result.messages.at(-1),
    `and ${300_000 - MAX_MESSAGES} more messages from CloudWatch`,
  );
  assert.ok(result.series[0].datapoints.length > 0);
});

Deno.test("getMetricData() keeps only in-window points and stops past MAX_CALL_BYTES of pages", async () => {
  await using fake = await startFakeCloudWatch();
  for (let i = 0; i < 20; i++) fake.faults.push("farPoints");
  const { client } = clientFor(fake, { ...SLOWER, totalBudgetMs: 30_000 });
  const err = await rejection(client.getMetricData(request(TEST_CREDENTIALS)));
  assert.equal(err.kind, "bad_answer");
  assert.match(err.message, new RegExp(`passed ${MAX_CALL_BYTES} bytes`));
  const pages = fake.calls.length;
  assert.ok(pages >= 2 && pages < 20, `${pages} pages read`);
});

Deno.test("PageMerger keeps only points inside the window, at most one a period per series", () => {
  const merger = new PageMerger(["CPUUtilization"], {
    startTime: T0,
    endTime: T0 + 600,
    period: 60,
  });
  const id = metricInfo("CPUUtilization").queryId;
  const inside = Array.from({ length: 11 }, (_, i) => T0 + 60 * i);
  // Sub-second timestamps inside the window would otherwise grow the series without bound.
  const crowded = Array.from({ length: 5_000 }, (_, i) => T0 + 1 + i / 100);
  const outside = [T0 - 60, T0 + 601, T0 + 365 * 86_400];
  const timestamps = [...inside, ...crowded, ...outside];
  merger.add({
    MetricDataResults: [{
      Id: id,
      StatusCode: "Complete",
      Timestamps: timestamps,
      Values: timestamps.map((_, i) => i),
    }],
  });
  const [series] = merger.result().series;
  assert.equal(series.datapoints.length, 11);
  for (const point of series.datapoints) {
    const seconds = Date.parse(point.timestamp) / 1000;
    assert.ok(seconds >= T0 && seconds <= T0 + 600, point.timestamp);
  }
});
