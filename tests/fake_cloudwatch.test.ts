import assert from "node:assert/strict";
import { AwsClient } from "aws4fetch";
import { Sha256, SignatureV4 } from "../dev_deps/sigv4.ts";
import { generatedValue, startFakeCloudWatch, TEST_CREDENTIALS } from "./fakes/cloudwatch.ts";

const TARGET = "GraniteServiceVersion20100801.GetMetricData";
const T0 = Date.UTC(2026, 0, 15, 10, 0, 0) / 1000;

function query(id: string, metric: string, extra: Record<string, unknown> = {}) {
  return {
    Id: id,
    MetricStat: {
      Metric: {
        Namespace: "AWS/RDS",
        MetricName: metric,
        Dimensions: [{ Name: "DBInstanceIdentifier", Value: "db-1" }],
      },
      Period: 60,
      Stat: "Average",
      ...extra,
    },
  };
}

function body(extra: Record<string, unknown> = {}) {
  return {
    MetricDataQueries: [query("cpu", "CPUUtilization")],
    StartTime: T0,
    EndTime: T0 + 600,
    ScanBy: "TimestampAscending",
    ...extra,
  };
}

function signer(credentials = TEST_CREDENTIALS) {
  return new AwsClient({ ...credentials, service: "monitoring", region: "eu-west-1", retries: 0 });
}

function signed(url: string, payload: unknown, options: {
  credentials?: typeof TEST_CREDENTIALS;
  target?: string;
  datetime?: string;
  contentType?: string;
} = {}) {
  return signer(options.credentials).sign(url, {
    method: "POST",
    headers: {
      "Content-Type": options.contentType ?? "application/x-amz-json-1.0",
      "X-Amz-Target": options.target ?? TARGET,
    },
    body: typeof payload === "string" ? payload : JSON.stringify(payload),
    ...(options.datetime ? { aws: { datetime: options.datetime } } : {}),
  });
}

async function send(request: Request) {
  const res = await fetch(request);
  return { res, json: await res.json() };
}

Deno.test("the fake answers a signed GetMetricData with deterministic generated data", async () => {
  await using fake = await startFakeCloudWatch();
  const { res, json } = await send(await signed(fake.url, body()));
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-type"), "application/x-amz-json-1.0");
  const [result] = json.MetricDataResults;
  assert.equal(result.StatusCode, "Complete");
  assert.deepEqual(result.Timestamps, Array.from({ length: 10 }, (_, k) => T0 + 60 * k));
  assert.deepEqual(
    result.Values,
    result.Timestamps.map((t: number) => generatedValue("CPUUtilization", "db-1", t)),
  );
  assert.ok(result.Values.every((v: number) => v >= 5 && v <= 85));
  assert.equal(fake.calls[0].accessKeyId, TEST_CREDENTIALS.accessKeyId);
  assert.equal(fake.calls[0].region, "eu-west-1");
  assert.deepEqual(fake.calls[0].signedHeaders, ["host", "x-amz-date", "x-amz-target"]);
});

Deno.test("the fake rejects a request whose body was changed after signing", async () => {
  await using fake = await startFakeCloudWatch();
  const request = await signed(fake.url, body());
  const tampered = new Request(request, { body: JSON.stringify(body({ EndTime: T0 + 660 })) });
  const { res, json } = await send(tampered);
  assert.equal(res.status, 403);
  assert.equal(res.headers.get("x-amzn-query-error"), "SignatureDoesNotMatch;Sender");
  assert.match(json.__type, /#InvalidSignatureException$/);
});

Deno.test("the fake rejects a signature with one character changed", async () => {
  await using fake = await startFakeCloudWatch();
  const request = await signed(fake.url, body());
  const auth = request.headers.get("authorization")!;
  const last = auth.at(-1) === "0" ? "1" : "0";
  const headers = new Headers(request.headers);
  headers.set("authorization", auth.slice(0, -1) + last);
  const { res } = await send(new Request(request, { headers }));
  assert.equal(res.status, 403);
  assert.equal(res.headers.get("x-amzn-query-error"), "SignatureDoesNotMatch;Sender");
});

Deno.test("the fake rejects a request signed with the wrong secret key", async () => {
  await using fake = await startFakeCloudWatch();
  const wrong = { ...TEST_CREDENTIALS, secretAccessKey: "not-the-secret" };
  const { res } = await send(await signed(fake.url, body(), { credentials: wrong }));
  assert.equal(res.status, 403);
  assert.equal(res.headers.get("x-amzn-query-error"), "SignatureDoesNotMatch;Sender");
});

Deno.test("the fake rejects an unknown access key with InvalidClientTokenId", async () => {
  await using fake = await startFakeCloudWatch();
  const stranger = { accessKeyId: "AKIASTRANGER", secretAccessKey: "whatever" };
  const { res, json } = await send(await signed(fake.url, body(), { credentials: stranger }));
  assert.equal(res.status, 403);
  assert.equal(res.headers.get("x-amzn-query-error"), "InvalidClientTokenId;Sender");
  assert.equal(json.message, "The security token included in the request is invalid.");
});

Deno.test("the fake rejects a request without an Authorization header", async () => {
  await using fake = await startFakeCloudWatch();
  const { res } = await send(
    new Request(fake.url, {
      method: "POST",
      headers: { "content-type": "application/x-amz-json-1.0", "x-amz-target": TARGET },
      body: JSON.stringify(body()),
    }),
  );
  assert.equal(res.status, 403);
  assert.equal(res.headers.get("x-amzn-query-error"), "MissingAuthenticationToken;Sender");
});

Deno.test("the fake rejects a signature more than 15 minutes away from its clock", async () => {
  await using fake = await startFakeCloudWatch({ now: () => new Date("2026-01-15T10:30:00Z") });
  const fresh = await send(await signed(fake.url, body(), { datetime: "20260115T102000Z" }));
  assert.equal(fresh.res.status, 200);
  const stale = await send(await signed(fake.url, body(), { datetime: "20260115T101000Z" }));
  assert.equal(stale.res.status, 403);
  assert.match(stale.json.message, /^Signature expired: 20260115T101000Z is now earlier than/);
});

Deno.test("the fake checks the session token of temporary credentials", async () => {
  const temporary = { ...TEST_CREDENTIALS, accessKeyId: "ASIATEMP", sessionToken: "token-1" };
  await using fake = await startFakeCloudWatch({ credentials: [temporary] });
  const good = await send(await signed(fake.url, body(), { credentials: temporary }));
  assert.equal(good.res.status, 200);
  assert.ok(fake.calls[0].signedHeaders.includes("x-amz-security-token"));
  const other = { ...temporary, sessionToken: "token-2" };
  const wrong = await send(await signed(fake.url, body(), { credentials: other }));
  assert.equal(wrong.res.headers.get("x-amzn-query-error"), "ExpiredToken;Sender");
  const none = { ...temporary, sessionToken: undefined };
  const missing = await send(await signed(fake.url, body(), { credentials: none }));
  assert.equal(missing.res.headers.get("x-amzn-query-error"), "InvalidClientTokenId;Sender");
});

Deno.test("the fake accepts SDK-style signatures that cover content-length and the payload hash", async () => {
  await using fake = await startFakeCloudWatch();
  const url = new URL(fake.url);
  const payload = JSON.stringify(body());
  const sdk = new SignatureV4({
    service: "monitoring",
    region: "us-east-1",
    credentials: TEST_CREDENTIALS,
    sha256: Sha256,
  });
  const request = await sdk.sign({
    method: "POST",
    protocol: url.protocol,
    hostname: url.hostname,
    port: Number(url.port),
    path: "/",
    query: {},
    headers: {
      host: url.host,
      "content-type": "application/x-amz-json-1.0",
      "content-length": String(new TextEncoder().encode(payload).length),
      "x-amz-target": TARGET,
      "x-amzn-query-mode": "true",
    },
    body: payload,
  });
  const headers = { ...request.headers };
  delete headers.host;
  const { res } = await send(new Request(fake.url, { method: "POST", headers, body: payload }));
  assert.equal(res.status, 200);
  assert.ok(fake.calls[0].signedHeaders.includes("x-amz-content-sha256"));
  assert.ok(fake.calls[0].signedHeaders.includes("content-length"));
});

Deno.test("the fake answers an unknown X-Amz-Target with UnknownOperationException", async () => {
  await using fake = await startFakeCloudWatch();
  const target = "GraniteServiceVersion20100801.GetMetricStatistics";
  const { res, json } = await send(await signed(fake.url, body(), { target }));
  assert.equal(res.status, 400);
  assert.match(json.__type, /#UnknownOperationException$/);
});

Deno.test("the fake refuses a body that is not application/x-amz-json-1.0", async () => {
  await using fake = await startFakeCloudWatch();
  const contentType = "application/json";
  const { res } = await send(await signed(fake.url, body(), { contentType }));
  assert.equal(res.status, 400);
  assert.equal(fake.calls[0].status, 400);
});

Deno.test("the fake validates GetMetricData input like CloudWatch", async () => {
  await using fake = await startFakeCloudWatch();
  const cases: Array<[Record<string, unknown>, string]> = [
    [{ MetricDataQueries: [] }, "MissingParameter;Sender"],
    [{ MetricDataQueries: [query("Cpu", "CPUUtilization")] }, "InvalidParameterValue;Sender"],
    [
      { MetricDataQueries: [query("a", "CPUUtilization"), query("a", "ReadIOPS")] },
      "InvalidParameterValue;Sender",
    ],
    [
      { MetricDataQueries: [query("a", "CPUUtilization", { Period: 90 })] },
      "InvalidParameterValue;Sender",
    ],
    [{ StartTime: "2026-01-15T10:00:00Z" }, "SerializationException;Sender"],
    [{ StartTime: T0 + 600 }, "InvalidParameterValue;Sender"],
  ];
  for (const [override, expected] of cases) {
    const { res } = await send(await signed(fake.url, body(override)));
    assert.equal(res.status, 400, JSON.stringify(override));
    assert.equal(res.headers.get("x-amzn-query-error"), expected, JSON.stringify(override));
  }
});

Deno.test("the fake pages by MaxDatapoints and rejects a NextToken from another request", async () => {
  await using fake = await startFakeCloudWatch();
  const request = body({
    MetricDataQueries: [query("cpu", "CPUUtilization"), query("iops", "ReadIOPS")],
    MaxDatapoints: 15,
  });
  const first = await send(await signed(fake.url, request));
  assert.deepEqual(first.json.MetricDataResults.map((r: { Values: [] }) => r.Values.length), [
    10,
    5,
  ]);
  assert.ok(
    first.json.MetricDataResults.every((r: { StatusCode: string }) =>
      r.StatusCode === "PartialData"
    ),
  );
  const token = first.json.NextToken;
  assert.equal(typeof token, "string");

  const second = await send(await signed(fake.url, { ...request, NextToken: token }));
  assert.deepEqual(second.json.MetricDataResults.map((r: { Values: [] }) => r.Values.length), [
    0,
    5,
  ]);
  assert.ok(
    second.json.MetricDataResults.every((r: { StatusCode: string }) => r.StatusCode === "Complete"),
  );
  assert.equal(second.json.NextToken, undefined);

  const foreign = await send(
    await signed(fake.url, { ...request, EndTime: T0 + 1200, NextToken: token }),
  );
  assert.equal(foreign.res.status, 400);
  assert.equal(foreign.res.headers.get("x-amzn-query-error"), "InvalidNextToken;Sender");
});

Deno.test("the fake returns newest first unless asked for ascending order", async () => {
  await using fake = await startFakeCloudWatch();
  const { json } = await send(await signed(fake.url, body({ ScanBy: undefined })));
  const timestamps = json.MetricDataResults[0].Timestamps;
  assert.equal(timestamps[0], T0 + 540);
  assert.equal(timestamps.at(-1), T0);
});

Deno.test("the fake serves registered series, aggregated per period", async () => {
  await using fake = await startFakeCloudWatch();
  fake.setSeries("CPUUtilization", "db-1", [[T0, 10], [T0 + 60, 20], [T0 + 120, 30], [
    T0 + 900,
    99,
  ]]);
  const minute = await send(await signed(fake.url, body()));
  assert.deepEqual(minute.json.MetricDataResults[0].Timestamps, [T0, T0 + 60, T0 + 120]);
  assert.deepEqual(minute.json.MetricDataResults[0].Values, [10, 20, 30]);
  const fiveMinutes = body({
    MetricDataQueries: [query("cpu", "CPUUtilization", { Period: 300, Stat: "Maximum" })],
  });
  const coarse = await send(await signed(fake.url, fiveMinutes));
  assert.deepEqual(coarse.json.MetricDataResults[0].Values, [30]);
});

Deno.test("the fake returns no datapoints after dropData() or for a mismatched Unit", async () => {
  await using fake = await startFakeCloudWatch();
  const withUnit = body({
    MetricDataQueries: [query("cpu", "CPUUtilization", { Unit: "Milliseconds" })],
  });
  const mismatched = await send(await signed(fake.url, withUnit));
  assert.deepEqual(mismatched.json.MetricDataResults[0].Values, []);
  fake.dropData();
  const dropped = await send(await signed(fake.url, body()));
  assert.deepEqual(dropped.json.MetricDataResults[0].Values, []);
  assert.equal(dropped.json.MetricDataResults[0].StatusCode, "Complete");
});

Deno.test("the fake writes exponent timestamps and NaN strings when told to", async () => {
  await using fake = await startFakeCloudWatch();
  fake.faults.push("expTimestamps", "nanValues");
  const exp = await fetch(await signed(fake.url, body()));
  assert.match(await exp.text(), /"Timestamps":\[1\.7684\d*E9,/);
  const nan = await send(await signed(fake.url, body()));
  assert.ok(nan.json.MetricDataResults[0].Values.includes("NaN"));
  assert.deepEqual(fake.calls.map((c) => c.mode), ["expTimestamps", "nanValues"]);
});

Deno.test("the fake answers each queued fault once, then ok", async () => {
  await using fake = await startFakeCloudWatch();
  fake.faults.push("throttle", "http500", "html502", "accessDenied", "malformed");
  const statuses = [];
  for (let i = 0; i < 6; i++) {
    const res = await fetch(await signed(fake.url, body()));
    await res.body?.cancel();
    statuses.push(res.status);
  }
  assert.deepEqual(statuses, [400, 500, 502, 403, 200, 200]);
  assert.deepEqual(fake.calls.map((c) => c.status), statuses);
});

Deno.test("the fake's close() releases a request it holds in hang mode", async () => {
  const fake = await startFakeCloudWatch();
  fake.faults.push("hang");
  const pending = fetch(await signed(fake.url, body())).then(
    async (res) => {
      await res.body?.cancel();
      return res.status;
    },
    () => "failed",
  );
  while (fake.calls.length === 0) await new Promise((r) => setTimeout(r, 5));
  await fake.close();
  assert.ok([503, "failed"].includes(await pending));
  assert.equal(fake.calls[0].status, 0);
});
