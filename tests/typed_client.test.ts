// The generated client types (tests/client/schema.d.ts) driven through openapi-fetch against a
// real server: if the contract and the server disagree, this walk or `deno check` fails.
import assert from "node:assert/strict";
import createClient from "../dev_deps/openapi_fetch.ts";
import type { components, paths } from "./client/schema.d.ts";
import { fakeCloudWatchEnv, startFakeCloudWatch } from "./fakes/cloudwatch.ts";
import { testContext } from "./helpers/context.ts";

/** JSON answers and problems; the CSV and SVG representations are read as text elsewhere. */
type JsonMedia = "application/json" | "application/problem+json";

type Capture = components["schemas"]["Capture"];
type Problem = components["schemas"]["Problem"];

const NOW = "2026-01-15T12:00:00Z";

/** The `cursor` of a `Link: <…?cursor=…>; rel="next"` header, or undefined without one. */
function nextCursor(link: string | null): string | undefined {
  if (!link) return undefined;
  const match = /<([^>]+)>;\s*rel="next"/.exec(link);
  assert.ok(match, `not a rel="next" link: ${link}`);
  return new URL(match[1], "http://capwatch.invalid").searchParams.get("cursor") ?? undefined;
}

function assertProblem(error: Problem | undefined, response: Response, status: number) {
  assert.equal(response.status, status);
  assert.match(response.headers.get("content-type") ?? "", /^application\/problem\+json/);
  assert.ok(error, `expected a problem body with ${status}`);
  assert.equal(error.status, status);
  assert.equal(typeof error.detail, "string");
}

Deno.test("the generated client walks environments, members and captures on a real server", async () => {
  await using fake = await startFakeCloudWatch();
  await using t = await testContext({
    now: NOW,
    env: fakeCloudWatchEnv(fake),
  });
  await using server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    t.app.fetch,
  );
  const baseUrl = `http://127.0.0.1:${server.addr.port}`;
  const as = async (user: string) =>
    createClient<paths, JsonMedia>({
      baseUrl,
      headers: { Authorization: `Bearer ${await t.token(user)}` },
    });
  const alice = await as("alice");
  const bob = await as("bob");

  // No token: 401 with the bearer challenge, typed as a Problem.
  {
    const { data, error, response } = await createClient<paths, JsonMedia>({ baseUrl }).GET(
      "/api/environments",
    );
    assert.equal(data, undefined);
    assertProblem(error, response, 401);
    assert.match(response.headers.get("www-authenticate") ?? "", /^Bearer /);
  }

  // Create an environment: alice becomes its admin.
  const { data: env, response: envResponse } = await alice.POST("/api/environments", {
    body: { name: "production", region: "us-east-1", dbInstanceIdentifier: "prod-mysql-1" },
  });
  assert.equal(envResponse.status, 201);
  assert.ok(env);
  assert.equal(envResponse.headers.get("location"), `/api/environments/${env.id}`);
  assert.equal(env.role, "admin");
  assert.equal(env.ownerId, "alice");
  assert.deepEqual(env.credentials, { source: "server", accessKeyId: "AKID…MPLE" });

  // Add bob as a member.
  {
    const { data, response } = await alice.PUT("/api/environments/{id}/members/{userId}", {
      params: { path: { id: env.id, userId: "bob" } },
      body: { role: "member" },
    });
    assert.equal(response.status, 201);
    assert.equal(data?.userId, "bob");
    assert.equal(data?.role, "member");
    const members = await bob.GET("/api/environments/{id}/members", {
      params: { path: { id: env.id } },
    });
    assert.deepEqual(members.data?.map((m) => [m.userId, m.role]), [
      ["alice", "admin"],
      ["bob", "member"],
    ]);
  }

  // Three captures: a backfilled window (DONE), one running now, one scheduled.
  const create = async (body: components["schemas"]["CreateCapture"], client = alice) => {
    const { data, error, response } = await client.POST("/api/captures", { body });
    assert.equal(response.status, 201, JSON.stringify(error));
    assert.ok(data);
    assert.equal(response.headers.get("location"), `/api/captures/${data.id}`);
    return data;
  };
  const backfilled = await create({
    name: "morning",
    envId: env.id,
    start: "2026-01-15T10:00:00Z",
    duration: 3600,
  });
  assert.equal(backfilled.status, "DONE");
  assert.equal(backfilled.end, "2026-01-15T11:00:00.000Z");
  const running = await create({ name: "noon", envId: env.id, duration: 3600 }, bob);
  assert.equal(running.status, "RUNNING");
  assert.equal(running.ownerId, "bob");
  const scheduled = await create({
    name: "evening",
    envId: env.id,
    status: "SCHEDULED",
    scheduledStart: "2026-01-15T18:00:00Z",
  });
  assert.equal(scheduled.status, "SCHEDULED");

  // Same name in the same environment: 409.
  {
    const { error, response } = await alice.POST("/api/captures", {
      body: { name: "noon", envId: env.id },
    });
    assertProblem(error, response, 409);
  }

  // List two pages: limit 2, then the cursor from the Link header.
  const seen: Capture[] = [];
  {
    const first = await alice.GET("/api/captures", {
      params: { query: { envId: env.id, limit: 2 } },
    });
    assert.equal(first.response.status, 200);
    assert.equal(first.data?.length, 2);
    seen.push(...first.data!);
    const cursor = nextCursor(first.response.headers.get("link"));
    assert.ok(cursor, "the first page has a next link");
    const second = await alice.GET("/api/captures", {
      params: { query: { envId: env.id, limit: 2, cursor } },
    });
    assert.equal(second.response.status, 200);
    assert.equal(second.data?.length, 1);
    assert.equal(nextCursor(second.response.headers.get("link")), undefined);
    seen.push(...second.data!);
  }
  assert.deepEqual(
    seen.map((c) => c.id).sort((a, b) => a - b),
    [backfilled.id, running.id, scheduled.id].sort((a, b) => a - b),
  );
  {
    const { data } = await alice.GET("/api/captures", {
      params: { query: { envId: env.id, status: ["RUNNING", "SCHEDULED"] } },
    });
    assert.deepEqual(data?.map((c) => c.name).sort(), ["evening", "noon"]);
  }

  // Get and edit.
  {
    const { data } = await bob.GET("/api/captures/{id}", {
      params: { path: { id: backfilled.id } },
    });
    assert.deepEqual(data, backfilled);
  }
  {
    const { data, response } = await alice.PUT("/api/captures/{id}", {
      params: { path: { id: scheduled.id } },
      body: { name: "late-evening", scheduledStart: "2026-01-15T20:00:00Z", duration: 1800 },
    });
    assert.equal(response.status, 200);
    assert.equal(data?.name, "late-evening");
    assert.equal(data?.scheduledStart, "2026-01-15T20:00:00.000Z");
    assert.equal(data?.scheduledEnd, "2026-01-15T20:30:00.000Z");
  }
  {
    const { data, response } = await bob.PATCH("/api/captures/{id}", {
      params: { path: { id: running.id } },
      body: { duration: 7200 },
    });
    assert.equal(response.status, 200);
    assert.equal(data?.duration, 7200);
  }
  {
    // bob is neither the owner nor an admin of alice's capture.
    const { error, response } = await bob.PUT("/api/captures/{id}", {
      params: { path: { id: scheduled.id } },
      body: { name: "mine-now" },
    });
    assertProblem(error, response, 403);
  }

  // Metrics of the backfilled hour, from the fake CloudWatch.
  {
    const { data, response } = await alice.GET("/api/captures/{id}/metrics", {
      params: {
        path: { id: backfilled.id },
        query: { type: ["CPUUtilization", "DatabaseConnections"], stat: "Maximum", period: 300 },
      },
    });
    assert.equal(response.status, 200);
    assert.ok(data);
    assert.equal(data.captureId, backfilled.id);
    assert.equal(data.source, "cloudwatch");
    assert.equal(data.stat, "Maximum");
    assert.equal(data.period, 300);
    assert.deepEqual(data.series.map((s) => s.type), ["CPUUtilization", "DatabaseConnections"]);
    for (const series of data.series) {
      assert.equal(series.datapoints.length, 12);
      assert.equal(series.datapoints[0].timestamp, "2026-01-15T10:00:00.000Z");
      assert.ok(series.datapoints.every((p) => typeof p.value === "number"));
    }
    assert.equal(fake.calls.length, 1);
  }
  {
    const { error, response } = await alice.GET("/api/captures/{id}/metrics", {
      params: { path: { id: scheduled.id } },
    });
    assertProblem(error, response, 409);
  }

  // Stop: the running capture becomes DONE; stopping again is a 409.
  t.clock.advance(10 * 60_000);
  {
    const { data, response } = await alice.POST("/api/captures/{id}/stop", {
      params: { path: { id: running.id } },
    });
    assert.equal(response.status, 200);
    assert.equal(data?.status, "DONE");
    assert.equal(data?.end, "2026-01-15T12:10:00.000Z");
    assert.equal(data?.duration, 600);
    const again = await alice.POST("/api/captures/{id}/stop", {
      params: { path: { id: running.id } },
    });
    assertProblem(again.error, again.response, 409);
  }

  // Delete: 204, then 404 for everyone.
  {
    const { data, response } = await alice.DELETE("/api/captures/{id}", {
      params: { path: { id: backfilled.id } },
    });
    assert.equal(response.status, 204);
    assert.equal(data, undefined);
    const gone = await bob.GET("/api/captures/{id}", { params: { path: { id: backfilled.id } } });
    assertProblem(gone.error, gone.response, 404);
  }

  // Invalid input is a 400 naming the field.
  {
    const { error, response } = await alice.POST("/api/captures", {
      body: { name: "too-short", envId: env.id, duration: 59 },
    });
    assertProblem(error, response, 400);
    assert.deepEqual(error?.errors?.map((e) => e.path), ["duration"]);
  }
});

Deno.test("the generated client retries a POST with Idempotency-Key and edits with ETags", async () => {
  await using t = await testContext({ now: NOW });
  await using server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    t.app.fetch,
  );
  const baseUrl = `http://127.0.0.1:${server.addr.port}`;
  const alice = createClient<paths>({
    baseUrl,
    headers: { Authorization: `Bearer ${await t.token("alice")}` },
  });
  const env = await alice.POST("/api/environments", {
    params: { header: { "Idempotency-Key": "env-1" } },
    body: { name: "production", region: "us-east-1", dbInstanceIdentifier: "prod-mysql-1" },
  });
  assert.equal(env.response.status, 201);
  const envRetry = await alice.POST("/api/environments", {
    params: { header: { "Idempotency-Key": "env-1" } },
    body: { name: "production", region: "us-east-1", dbInstanceIdentifier: "prod-mysql-1" },
  });
  assert.equal(envRetry.response.status, 201, "a lost answer is got back, not 409");
  assert.deepEqual(envRetry.data, env.data);
  const envId = env.data!.id;

  // The first answer is kept: the retry gets the same capture, Location and ETag.
  const send = () =>
    alice.POST("/api/captures", {
      params: { header: { "Idempotency-Key": "create-noon" } },
      body: { name: "noon", envId, duration: 3600 },
    });
  const first = await send();
  const retry = await send();
  assert.equal(first.response.status, 201);
  assert.equal(retry.response.status, 201);
  assert.equal(retry.response.headers.get("idempotent-replayed"), "true");
  assert.deepEqual(retry.data, first.data);
  assert.equal(retry.response.headers.get("location"), first.response.headers.get("location"));
  const etag = first.response.headers.get("etag")!;
  assert.equal(retry.response.headers.get("etag"), etag);
  const reused = await alice.POST("/api/captures", {
    params: { header: { "Idempotency-Key": "create-noon" } },
    body: { name: "other", envId },
  });
  assertProblem(reused.error, reused.response, 422);
  assert.equal(reused.error?.type, "/problems/idempotency-key-reused");
  const id = first.data!.id;

  // ETags: 304 while current; If-Match makes the second of two edits a 412.
  const cached = await alice.GET("/api/captures/{id}", {
    params: { path: { id }, header: { "If-None-Match": etag } },
  });
  assert.equal(cached.response.status, 304);
  const edited = await alice.PATCH("/api/captures/{id}", {
    params: { path: { id }, header: { "If-Match": etag } },
    body: { name: "noon-2" },
  });
  assert.equal(edited.response.status, 200);
  const newTag = edited.response.headers.get("etag")!;
  assert.notEqual(newTag, etag);
  const stale = await alice.PUT("/api/captures/{id}", {
    params: { path: { id }, header: { "If-Match": etag } },
    body: { name: "noon-3" },
  });
  assertProblem(stale.error, stale.response, 412);
  assert.equal(stale.error?.type, "/problems/precondition-failed");
  const stopped = await alice.POST("/api/captures/{id}/stop", {
    params: { path: { id }, header: { "If-Match": newTag, "Idempotency-Key": "stop-noon" } },
  });
  assert.equal(stopped.response.status, 200);
  const removed = await alice.DELETE("/api/captures/{id}", {
    params: { path: { id }, header: { "If-Match": stopped.response.headers.get("etag")! } },
  });
  assert.equal(removed.response.status, 204);
});
