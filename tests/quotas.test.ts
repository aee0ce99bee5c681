/** Quotas (issue 17 point 5): hit, then freed or reset with the injected clock. */
import assert from "node:assert/strict";
import { createApp } from "../app.ts";
import { openDatabase } from "../db/client.ts";
import { RATE_LIMIT_FLUSH_MS } from "../db/rate_limits.ts";
import { rateLimits } from "../db/schema.ts";
import openapi from "../openapi/openapi.json" with { type: "json" };
import { postCapture } from "./helpers/captures.ts";
import { type TestContext, testContext } from "./helpers/context.ts";
import { assertProblem } from "./helpers/problem.ts";

const NOW = "2026-01-01T00:00:30Z";

Deno.test("POST /api/environments answers 429 past QUOTA_ENVIRONMENTS_PER_USER, and not once one is deleted", async () => {
  await using t = await testContext({ env: { QUOTA_ENVIRONMENTS_PER_USER: "2" } });
  const first = await t.createEnvironment("alice");
  await t.createEnvironment("alice");
  const res = await t.as("alice").post("/api/environments", {
    name: "third",
    region: "us-east-1",
    dbInstanceIdentifier: "db-3",
  });
  const refused = await assertProblem(res, 429);
  assert.match(refused.detail, /QUOTA_ENVIRONMENTS_PER_USER/);
  // A count quota: its own problem type, and no Retry-After (waiting frees nothing).
  assert.equal(refused.type, "/problems/quota-exceeded");
  assert.equal(res.headers.get("retry-after"), null);
  await t.createEnvironment("bob"); // a quota per user
  assert.equal((await t.as("alice").delete(`/api/environments/${first.id}`)).status, 204);
  await t.createEnvironment("alice");
});

Deno.test("Concurrent creates cannot pass QUOTA_ENVIRONMENTS_PER_USER", async () => {
  await using t = await testContext({ env: { QUOTA_ENVIRONMENTS_PER_USER: "3" } });
  const answers = await Promise.all(
    Array.from({ length: 8 }, (_, i) =>
      t.as("alice").post("/api/environments", {
        name: `race-${i}`,
        region: "us-east-1",
        dbInstanceIdentifier: `db-${i}`,
      })),
  );
  const statuses = answers.map((res) => res.status).sort();
  assert.deepEqual(statuses, [201, 201, 201, 429, 429, 429, 429, 429]);
  assert.equal((await (await t.as("alice").get("/api/environments")).json()).length, 3);
});

Deno.test("POST /api/captures answers 429 past the captures and running-captures quotas", async () => {
  await using t = await testContext({
    now: NOW,
    env: { QUOTA_CAPTURES_PER_ENVIRONMENT: "3", QUOTA_RUNNING_CAPTURES_PER_ENVIRONMENT: "1" },
  });
  const env = await t.createEnvironment("alice");
  const post = (name: string, extra: Record<string, unknown> = {}) =>
    t.as("alice").post("/api/captures", { envId: env.id, name, ...extra });
  const running = await post("running", { duration: 600 });
  assert.equal(running.status, 201);
  const second = await post("second running");
  const running429 = await assertProblem(second, 429);
  assert.match(running429.detail, /QUOTA_RUNNING_CAPTURES_PER_ENVIRONMENT/);
  assert.equal(running429.type, "/problems/quota-exceeded");
  // A scheduled one is not running.
  const later = await post("later", { scheduledStart: "2026-01-02T00:00:00Z", duration: 60 });
  assert.equal(later.status, 201);
  // Once the running capture has ended (clock past its duration), another may run (one that
  // ends before "later" starts: an open-ended one would overlap it).
  t.clock.advance(601_000);
  assert.equal((await post("after", { duration: 60 })).status, 201);
  const fourth = await post("fourth", { scheduledStart: "2026-01-03T00:00:00Z" });
  assert.match((await assertProblem(fourth, 429)).detail, /QUOTA_CAPTURES_PER_ENVIRONMENT/);
  const other = await t.createEnvironment("alice");
  const elsewhere = await t.as("alice").post("/api/captures", { envId: other.id, name: "x" });
  assert.equal(elsewhere.status, 201);
});

Deno.test("GET /api/captures/{id}/metrics limits each user per minute across instances, over HTTP", async () => {
  await using t = await testContext({ now: NOW, env: { QUOTA_METRICS_REQUESTS_PER_MINUTE: "3" } });
  // A second instance: its own app and connection on the same database file.
  const other = await openDatabase(t.config.databaseUrl);
  const otherApp = createApp({ ...t.deps, db: other.db });
  await using first = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    t.app.fetch,
  );
  await using second = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    otherApp.fetch,
  );
  try {
    const env = await t.createEnvironment("alice");
    await t.addMember(env.id, "bob", "member", "alice");
    const created = await t.as("alice").post("/api/captures", {
      envId: env.id,
      name: "scheduled",
      scheduledStart: "2026-01-02T00:00:00Z",
    });
    const { id } = await created.json();
    const get = async (server: Deno.HttpServer<Deno.NetAddr>, user: string) => {
      const res = await fetch(`http://127.0.0.1:${server.addr.port}/api/captures/${id}/metrics`, {
        headers: { Authorization: `Bearer ${await t.token(user)}` },
      });
      await res.body?.cancel();
      return res;
    };
    // Each instance adds its requests to the shared count at most every RATE_LIMIT_FLUSH_MS (of
    // the injected clock); a flush interval apart, every request sees all the others.
    const flushed = () => t.clock.advance(RATE_LIMIT_FLUSH_MS);
    const answers = [
      await get(first, "alice"),
      await get(second, "alice"),
      (flushed(), await get(first, "alice")),
    ];
    // A scheduled capture has no metrics (409), yet each request spends the quota.
    assert.deepEqual(answers.map((res) => res.status), [409, 409, 409]);
    assert.equal(answers[0].headers.get("ratelimit-policy"), '"metrics";q=3;w=60');
    assert.deepEqual(
      answers.map((res) => res.headers.get("ratelimit")),
      ['"metrics";r=2;t=30', '"metrics";r=1;t=30', '"metrics";r=0;t=30'],
    );
    flushed();
    const refused = await fetch(`http://127.0.0.1:${second.addr.port}/api/captures/${id}/metrics`, {
      headers: { Authorization: `Bearer ${await t.token("alice")}` },
    });
    const body = await assertProblem(refused, 429);
    assert.match(body.detail, /QUOTA_METRICS_REQUESTS_PER_MINUTE/);
    assert.equal(body.type, "/problems/rate-limited");
    assert.equal(refused.headers.get("retry-after"), "30");
    assert.equal(refused.headers.get("ratelimit"), '"metrics";r=0;t=30');
    // Another user has their own allowance.
    assert.equal((await get(first, "bob")).status, 409);
    // The next minute of the injected clock starts afresh.
    t.clock.advance(30_000);
    const reset = await get(second, "alice");
    assert.equal(reset.status, 409);
    assert.equal(reset.headers.get("ratelimit"), '"metrics";r=2;t=60');
  } finally {
    other.close();
  }
});

/** A capture of alice's scheduled for tomorrow (its metrics answer 409 until then); its id. */
async function scheduledCapture(t: TestContext): Promise<number> {
  const env = await t.createEnvironment("alice");
  const { capture } = await postCapture(t, "alice", {
    envId: env.id,
    name: "scheduled",
    scheduledStart: "2026-01-02T00:00:00Z",
  });
  return capture.id;
}

Deno.test("The metrics rate limit counts exactly within an instance, writing the shared count once per flush interval", async () => {
  await using t = await testContext({ now: NOW, env: { QUOTA_METRICS_REQUESTS_PER_MINUTE: "3" } });
  const id = await scheduledCapture(t);
  const shared = async () =>
    (await t.deps.db.select({ count: rateLimits.count }).from(rateLimits))
      .reduce((sum, row) => sum + row.count, 0);
  const statuses: number[] = [];
  for (let i = 0; i < 5; i++) {
    const res = await t.as("alice").get(`/api/captures/${id}/metrics`);
    await res.body?.cancel();
    statuses.push(res.status);
  }
  // The fourth and fifth are refused at once, though only the first request was written.
  assert.deepEqual(statuses, [409, 409, 409, 429, 429]);
  assert.equal(await shared(), 1);
  // One flush interval later the next request adds every request counted here, itself included.
  t.clock.advance(RATE_LIMIT_FLUSH_MS);
  await assertProblem(await t.as("alice").get(`/api/captures/${id}/metrics`), 429);
  assert.equal(await shared(), 6);
});

Deno.test("load, SQL text, metrics.svg, compare and compare.svg spend QUOTA_METRICS_REQUESTS_PER_MINUTE with metrics, and declare it", async () => {
  await using t = await testContext({ now: NOW, env: { QUOTA_METRICS_REQUESTS_PER_MINUTE: "6" } });
  const id = await scheduledCapture(t);
  const paths = [
    `/api/captures/${id}/metrics`,
    `/api/captures/${id}/load`,
    `/api/captures/${id}/sql/DIGEST1`,
    `/api/captures/${id}/metrics.svg`,
    `/api/captures/${id}/compare?with=${id}`,
    `/api/captures/${id}/compare.svg?with=${id}`,
  ];
  const left: Array<string | null> = [];
  for (const path of paths) {
    const res = await t.as("alice").get(path);
    await res.body?.cancel();
    assert.notEqual(res.status, 429, path);
    left.push(res.headers.get("ratelimit"));
  }
  assert.deepEqual(left, [5, 4, 3, 2, 1, 0].map((r) => `"metrics";r=${r};t=30`));
  for (const path of paths) {
    const res = await t.as("alice").get(path);
    assert.equal((await assertProblem(res, 429)).type, "/problems/rate-limited", path);
    assert.equal(res.headers.get("retry-after"), "30", path);
  }
  // The contract says so for each: 429, and the RateLimit headers on 200.
  const operations = (openapi as { paths: Record<string, Record<string, OpenApiOperation>> }).paths;
  for (
    const path of [
      "/api/captures/{id}/metrics",
      "/api/captures/{id}/load",
      "/api/captures/{id}/sql/{digestId}",
      "/api/captures/{id}/metrics.svg",
      "/api/captures/{id}/compare",
      "/api/captures/{id}/compare.svg",
    ]
  ) {
    const { responses } = operations[path].get;
    assert.ok(responses["429"], path);
    assert.ok(responses["200"].headers?.RateLimit, path);
    assert.ok(responses["200"].headers?.["RateLimit-Policy"], path);
  }
});

interface OpenApiOperation {
  responses: Record<string, { headers?: Record<string, unknown> }>;
}
