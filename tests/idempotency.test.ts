import assert from "node:assert/strict";
import { drizzle } from "drizzle-orm/libsql";
import { createApp } from "../app.ts";
import openapi from "../openapi/openapi.json" with { type: "json" };
import { claimKey, sweepExpiredKeys } from "../db/idempotency.ts";
import * as schema from "../db/schema.ts";
import { IDEMPOTENCY_TTL_MS, requestHashOf } from "../routes/idempotency.ts";
import { IdempotencyHeaders } from "../openapi/schemas/headers.ts";
import { HOUR, NOW } from "./helpers/captures.ts";
import { type TestContext, testContext } from "./helpers/context.ts";
import { remoteLike } from "./helpers/remote_like.ts";
import { assertProblem } from "./helpers/problem.ts";

const post = (t: TestContext, user: string, path: string, body: unknown, key?: string) =>
  t.as(user).post(path, body, key === undefined ? {} : { "Idempotency-Key": key });

Deno.test("concurrent POSTs with one Idempotency-Key over a real listener create one capture", async () => {
  await using t = await testContext({ now: NOW });
  const app = createApp({ ...t.deps, db: drizzle(remoteLike(t.client), { schema }) });
  await using server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, app.fetch);
  const env = await t.createEnvironment("alice");
  const body = JSON.stringify({ name: "peak", envId: env.id, duration: 3600 });
  const send = async () => {
    const res = await fetch(`http://127.0.0.1:${server.addr.port}/api/captures`, {
      method: "POST",
      headers: {
        Authorization: `Bearer ${await t.token("alice")}`,
        "Content-Type": "application/json",
        "Idempotency-Key": "create-peak-1",
      },
      body,
    });
    return { res, text: await res.text() };
  };
  const answers = await Promise.all(Array.from({ length: 6 }, send));
  const created = answers.filter((a) => a.res.status === 201);
  const busy = answers.filter((a) => a.res.status === 409);
  assert.equal(created.length + busy.length, 6, answers.map((a) => a.text).join("\n"));
  assert.ok(created.length >= 1);
  const ids = new Set(created.map((a) => JSON.parse(a.text).id));
  assert.equal(ids.size, 1, "every 201 is the one capture");
  for (const { res, text } of busy) {
    assert.equal(JSON.parse(text).type, "/problems/idempotency-in-progress");
    assert.equal(res.headers.get("retry-after"), "1");
  }
  const list = await (await t.as("alice").get(`/api/captures?envId=${env.id}`)).json();
  assert.equal(list.length, 1, "one effect");

  // A retry after they all finished gets the first answer back, headers included.
  const first = created.find((a) => a.res.headers.get("idempotent-replayed") === null)!;
  const retry = await send();
  assert.equal(retry.res.status, 201);
  assert.equal(retry.res.headers.get("idempotent-replayed"), "true");
  assert.equal(retry.text, first.text);
  assert.equal(retry.res.headers.get("location"), first.res.headers.get("location"));
  assert.equal(retry.res.headers.get("etag"), first.res.headers.get("etag"));
  assert.match(retry.res.headers.get("content-type") ?? "", /^application\/json/);
});

Deno.test("a retry with the same body in another key order is replayed; another body is 422", async () => {
  await using t = await testContext({ now: NOW });
  const env = await t.createEnvironment("alice");
  const first = await post(t, "alice", "/api/captures", { name: "a", envId: env.id }, "k1");
  assert.equal(first.status, 201);
  const capture = await first.json();
  const again = await post(t, "alice", "/api/captures", { envId: env.id, name: "a" }, "k1");
  assert.equal(again.status, 201, "not 409 name-taken");
  assert.deepEqual(await again.json(), capture);
  const other = await assertProblem(
    await post(t, "alice", "/api/captures", { name: "b", envId: env.id }, "k1"),
    422,
  );
  assert.equal(other.type, "/problems/idempotency-key-reused");
  assert.equal(other.errors?.[0].path, "Idempotency-Key");
  // Without a key nothing is kept: the same request is a name clash.
  const plain = await assertProblem(
    await post(t, "alice", "/api/captures", { name: "a", envId: env.id }),
    409,
  );
  assert.equal(plain.type, "/problems/name-taken");
});

Deno.test("a key belongs to its caller and route", async () => {
  await using t = await testContext({ now: NOW });
  const env = await t.createEnvironment("alice");
  await t.addMember(env.id, "bob", "member", "alice");
  assert.equal(
    (await post(t, "alice", "/api/captures", { name: "a", envId: env.id }, "k")).status,
    201,
  );
  const bob = await post(t, "bob", "/api/captures", { name: "b", envId: env.id }, "k");
  assert.equal(bob.status, 201, "bob's k is not alice's");
  assert.equal(bob.headers.get("idempotent-replayed"), null);
  const envBody = { name: "env-k", region: "us-east-1", dbInstanceIdentifier: "db-1" };
  const made = await post(t, "alice", "/api/environments", envBody, "k");
  assert.equal(made.status, 201, "same key on another route is another key");
  const retried = await post(t, "alice", "/api/environments", envBody, "k");
  assert.equal(retried.status, 201, "the retry gets the environment, not 409");
  assert.deepEqual(await retried.json(), await made.json());
});

Deno.test("a retried stop gets its first answer instead of 409", async () => {
  await using t = await testContext({ now: NOW });
  const env = await t.createEnvironment("alice");
  const { id } = await (await post(t, "alice", "/api/captures", { name: "a", envId: env.id }))
    .json();
  t.clock.advance(HOUR);
  const first = await post(t, "alice", `/api/captures/${id}/stop`, undefined, "stop-1");
  assert.equal(first.status, 200);
  const firstBody = await first.text();
  t.clock.advance(HOUR);
  const retry = await post(t, "alice", `/api/captures/${id}/stop`, undefined, "stop-1");
  assert.equal(retry.status, 200);
  assert.equal(await retry.text(), firstBody);
  const fresh = await assertProblem(
    await post(t, "alice", `/api/captures/${id}/stop`, undefined, "stop-2"),
    409,
  );
  assert.equal(fresh.type, "/problems/invalid-state");
});

Deno.test("a key still in progress answers 409 with Retry-After; a bad key is 400", async () => {
  await using t = await testContext({ now: NOW });
  const env = await t.createEnvironment("alice");
  const body = { name: "a", envId: env.id };
  // Another instance holds the key for the same request and has not answered yet.
  const claim = await claimKey(t.db, {
    callerId: "alice",
    method: "POST",
    path: "/api/captures",
    key: "held",
  }, {
    requestHash: await requestHashOf(JSON.stringify(body)),
    token: "other-instance",
    now: t.clock().getTime(),
    ttlMs: IDEMPOTENCY_TTL_MS,
    claimMs: 60_000,
  });
  assert.deepEqual(claim, { claimed: true });
  const res = await post(t, "alice", "/api/captures", body, "held");
  assert.equal(res.headers.get("retry-after"), "1");
  const busy = await assertProblem(res, 409);
  assert.equal(busy.type, "/problems/idempotency-in-progress");
  const bad = await assertProblem(await post(t, "alice", "/api/captures", body, "has space"), 400);
  assert.equal(bad.errors?.[0].path, "Idempotency-Key");
});

Deno.test("POST /api/captures refuses exactly the Idempotency-Keys its documented schema refuses, with 400", async () => {
  // The route's header schema is documented but not run (routes/headers_checked_elsewhere.ts):
  // the middleware's own check must refuse the same keys.
  await using t = await testContext({ now: NOW });
  const env = await t.createEnvironment("alice");
  const keys = [
    "",
    "k",
    "x".repeat(255),
    "x".repeat(256),
    "has space",
    "in\tside",
    "é",
    "~!#$%&'*+-.^_`|",
  ];
  for (const [i, key] of keys.entries()) {
    const res = await post(t, "alice", "/api/captures", { name: `k${i}`, envId: env.id }, key);
    if (IdempotencyHeaders.safeParse({ "Idempotency-Key": key }).success) {
      assert.equal(res.status, 201, JSON.stringify(key));
    } else {
      const refused = await assertProblem(res, 400);
      assert.equal(refused.errors?.[0].path, "Idempotency-Key", JSON.stringify(key));
    }
  }
});

Deno.test("keys expire after 24 hours and are swept", async () => {
  await using t = await testContext({ now: NOW });
  const env = await t.createEnvironment("alice");
  assert.equal(
    (await post(t, "alice", "/api/captures", { name: "a", envId: env.id }, "k")).status,
    201,
  );
  t.clock.advance(IDEMPOTENCY_TTL_MS - 1);
  assert.equal(await sweepExpiredKeys(t.db, t.clock().getTime()), 0);
  t.clock.advance(1);
  assert.equal(await sweepExpiredKeys(t.db, t.clock().getTime()), 1);
  const reused = await post(t, "alice", "/api/captures", { name: "b", envId: env.id }, "k");
  assert.equal(reused.status, 201, "an expired key is free again");
});

Deno.test("the contract declares Idempotent-Replayed on the 2xx and Retry-After on the 409 of each idempotent POST", () => {
  type Operation = {
    parameters?: Array<{ name: string; in: string }>;
    responses: Record<string, { headers?: Record<string, unknown> }>;
  };
  const paths = openapi.paths as unknown as Record<string, Record<string, Operation>>;
  const idempotent = Object.entries(paths).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([, op]) => op.parameters?.some((p) => p.name === "Idempotency-Key"))
      .map(([method, op]) => ({ where: `${method} ${path}`, op }))
  );
  assert.deepEqual(idempotent.map((o) => o.where).sort(), [
    "post /api/captures",
    "post /api/captures/{id}/stop",
    "post /api/environments",
  ]);
  for (const { where, op } of idempotent) {
    const success = Object.entries(op.responses).filter(([status]) => status.startsWith("2"));
    assert.ok(success.length > 0, where);
    for (const [status, response] of success) {
      assert.ok(response.headers?.["Idempotent-Replayed"], `${where} ${status}`);
    }
    assert.ok(op.responses["409"]?.headers?.["Retry-After"], `${where} 409`);
  }
});

Deno.test("a kept 409 is replayed with the retry's requestId in its body, as in X-Request-Id", async () => {
  await using t = await testContext({ now: NOW });
  const env = await t.createEnvironment("alice");
  const body = { name: "peak", envId: env.id };
  assert.equal((await post(t, "alice", "/api/captures", body)).status, 201);
  const firstRes = await post(t, "alice", "/api/captures", body, "k-taken");
  const firstId = firstRes.headers.get("x-request-id");
  const first = await assertProblem(firstRes, 409);
  assert.equal(first.type, "/problems/name-taken");
  const retry = await post(t, "alice", "/api/captures", body, "k-taken");
  assert.equal(retry.headers.get("idempotent-replayed"), "true");
  const replayed = await assertProblem(retry, 409) as { detail: string; requestId?: string };
  assert.equal(replayed.detail, first.detail);
  assert.notEqual(retry.headers.get("x-request-id"), firstId);
  assert.equal(replayed.requestId, retry.headers.get("x-request-id"));
});

Deno.test("refusals of the request itself are not kept: a retry is judged afresh", async () => {
  await using t = await testContext({ now: NOW });
  const env = await t.createEnvironment("alice");
  // 404: bob is not a member yet; once he is, his retry with the same key creates the capture.
  const body = { name: "bobs", envId: env.id };
  await assertProblem(await post(t, "bob", "/api/captures", body, "k-404"), 404);
  await t.addMember(env.id, "bob", "member", "alice");
  const created = await post(t, "bob", "/api/captures", body, "k-404");
  assert.equal(created.status, 201, await created.clone().text());
  assert.equal(created.headers.get("idempotent-replayed"), null);
  await created.body?.cancel();

  // 412: a stale If-Match; the retry with the fresh ETag and the same key stops the capture.
  const { id } = await (await post(t, "alice", "/api/captures", { name: "a", envId: env.id }))
    .json();
  const path = `/api/captures/${id}/stop`;
  const stop = (ifMatch: string) =>
    t.as("alice").post(path, undefined, { "Idempotency-Key": "k-412", "If-Match": ifMatch });
  await assertProblem(await stop('"c.1.0.SCHEDULED"'), 412);
  const current = await t.as("alice").get(`/api/captures/${id}`);
  await current.body?.cancel();
  const stopped = await stop(current.headers.get("etag")!);
  assert.equal(stopped.status, 200, await stopped.clone().text());
  assert.equal((await stopped.json()).status, "DONE");

  // 400 on a path naming nothing, however long: no key is kept for it.
  for (const junk of ["abc", "9".repeat(300)]) {
    await assertProblem(
      await post(t, "alice", `/api/captures/${junk}/stop`, undefined, "k-400"),
      400,
    );
  }
  const rows = await t.client.execute("SELECT path, status FROM idempotency_keys ORDER BY path");
  assert.deepEqual(
    rows.rows.map((r) => [r.path, r.status]),
    [["/api/captures", 201], [path, 200]],
  );
});
