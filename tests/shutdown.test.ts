import assert from "node:assert/strict";
import { mintToken } from "../auth/mint.ts";
import { startFakeCloudWatch, TEST_CREDENTIALS } from "./fakes/cloudwatch.ts";
import { TEST_SECRET, testContext } from "./helpers/context.ts";
import { callJson, logLines, refusesConnections, startServer, within } from "./helpers/process.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function eventually(check: () => boolean | Promise<boolean>, what: string, ms = 5000) {
  const deadline = Date.now() + ms;
  while (!await check()) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${ms} ms`);
    await sleep(20);
  }
}

/** JSON calls against a real server as `sub`. */
async function caller(url: string, sub: string) {
  const token = await mintToken(TEST_SECRET, { sub });
  return (method: string, path: string, body?: unknown) => callJson(url, token, method, path, body);
}

Deno.test("SIGTERM lets a slow request finish, refuses new connections, then main.ts exits 0", async () => {
  await using fake = await startFakeCloudWatch();
  await using server = await startServer({
    CLOUDWATCH_ENDPOINT: fake.url,
    AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
  });
  const api = await caller(server.url, "alice");
  const env = await api("POST", "/api/environments", {
    name: "shutdown-env",
    region: "us-east-1",
    dbInstanceIdentifier: "shutdown-db",
  });
  assert.equal(env.status, 201);
  // RUNNING since 30 minutes ago: its metrics come from CloudWatch, never from a snapshot.
  const capture = await api("POST", "/api/captures", {
    name: "slow-metrics",
    envId: env.body.id,
    start: new Date(Date.now() - 30 * 60_000).toISOString(),
  });
  assert.equal(capture.status, 201);
  assert.equal(capture.body.status, "RUNNING");

  // The first CloudWatch attempt hangs until capwatch's 3 s attempt timeout; the retry answers.
  fake.faults.push("hang");
  const slow = api("GET", `/api/captures/${capture.body.id}/metrics?type=CPUUtilization`);
  await eventually(() => fake.calls.length >= 1, "the metrics request reaching CloudWatch");

  const signalled = performance.now();
  server.kill("SIGTERM");
  await eventually(() => refusesConnections(server.url), "refusing new connections", 2000);

  const answer = await slow;
  const answeredAfterMs = performance.now() - signalled;
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
  assert.ok(answer.body.series[0].datapoints.length > 0);
  assert.equal(fake.calls.length, 2, "one hung attempt, one retry");

  const status = await within(server.status, 15_000, "exiting after SIGTERM");
  const exitedAfterMs = performance.now() - signalled;
  assert.equal(status.code, 0, server.stderr.join("\n"));
  assert.ok(answeredAfterMs > 1000, `the request was still in flight (${answeredAfterMs} ms)`);
  assert.ok(exitedAfterMs < 10_000, `exited ${exitedAfterMs} ms after SIGTERM`);

  const logs = logLines(server);
  const order = (test: (l: Record<string, unknown>) => boolean) => logs.findIndex(test);
  const shuttingDown = order((l) => l.msg === "shutting down" && l.signal === "SIGTERM");
  const served = order((l) => l.msg === "request" && l.route === "/api/captures/:id/metrics");
  const stopped = order((l) => l.msg === "stopped");
  assert.ok(shuttingDown >= 0 && served > shuttingDown && stopped > served, JSON.stringify(logs));
  console.log(
    `  slow request answered ${Math.round(answeredAfterMs)} ms after SIGTERM; ` +
      `process exited after ${Math.round(exitedAfterMs)} ms`,
  );
});

Deno.test("SIGTERM gives a stalled request 10 s, then main.ts exits 0 anyway", async () => {
  await using server = await startServer();
  const { hostname, port } = new URL(server.url);
  // A client that sends headers and never its chunked body: the body limit waits on it forever.
  const conn = await Deno.connect({ hostname, port: Number(port) });
  try {
    await conn.write(new TextEncoder().encode(
      "POST /api/environments HTTP/1.1\r\nHost: capwatch\r\nContent-Type: application/json\r\n" +
        'Transfer-Encoding: chunked\r\n\r\n5\r\n{"nam',
    ));
    await sleep(300);
    const signalled = performance.now();
    server.kill("SIGTERM");
    const status = await within(server.status, 20_000, "exiting after SIGTERM");
    const exitedAfterMs = performance.now() - signalled;
    assert.equal(status.code, 0, server.stderr.join("\n"));
    assert.ok(
      exitedAfterMs > 9_500 && exitedAfterMs < 12_000,
      `exited ${exitedAfterMs} ms after SIGTERM`,
    );
    const logs = logLines(server);
    assert.ok(logs.some((l) => l.level === "warn" && /in flight/.test(String(l.msg))));
    assert.ok(logs.some((l) => l.msg === "stopped"));
    console.log(`  stalled request: exited ${Math.round(exitedAfterMs)} ms after SIGTERM`);
  } finally {
    conn.close();
  }
});

Deno.test("GET /health answers 503 once the database file is removed or replaced", async () => {
  await using server = await startServer();
  const health = async () => {
    const res = await fetch(`${server.url}/health`);
    return { status: res.status, body: await res.json() };
  };
  const healthy = await health();
  assert.equal(healthy.status, 200);
  assert.equal(healthy.body.database, "ok");
  assert.ok(healthy.body.schemaVersion >= 1);

  // SQLite keeps using the unlinked file, so a query alone would still succeed here.
  for (const suffix of ["", "-wal", "-shm"]) {
    await Deno.remove(server.dbPath + suffix).catch(() => {});
  }
  const removed = await health();
  assert.equal(removed.status, 503);
  assert.deepEqual(removed.body, {
    status: "unavailable",
    database: "unreachable",
    schemaVersion: null,
  });

  await Deno.mkdir(server.dbPath);
  const replaced = await health();
  assert.equal(replaced.status, 503);
  assert.equal(replaced.body.database, "unreachable");

  server.kill("SIGTERM");
  assert.equal((await within(server.status, 15_000, "exiting")).code, 0);
  const warnings = logLines(server).filter((l) => l.msg === "health check failed");
  assert.equal(warnings.length, 2);
  assert.match(String(warnings[0].error), /was removed/);
  assert.match(String(warnings[1].error), /was replaced/);
});

Deno.test("GET /health answers 503 shutting_down once shutdown has begun", async () => {
  let shuttingDown = false;
  await using t = await testContext({ deps: { isShuttingDown: () => shuttingDown } });
  assert.equal((await t.as(null).get("/health")).status, 200);
  shuttingDown = true;
  const res = await t.as(null).get("/health");
  assert.equal(res.status, 503);
  const body = await res.json();
  assert.equal(body.status, "shutting_down");
  assert.equal(body.database, "ok");
  assert.ok(body.schemaVersion >= 1);
});
