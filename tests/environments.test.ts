import assert from "node:assert/strict";
import { captures, captureSnapshots } from "../db/schema.ts";
import { testContext } from "./helpers/context.ts";
import { assertProblem } from "./helpers/problem.ts";

Deno.test("POST /api/environments makes the creator its first admin", async () => {
  await using t = await testContext();
  const res = await t.as("alice").post("/api/environments", {
    name: "production",
    region: "eu-west-1",
    dbInstanceIdentifier: "prod-mysql-1",
  });
  assert.equal(res.status, 201);
  const env = await res.json();
  assert.equal(res.headers.get("location"), `/api/environments/${env.id}`);
  assert.equal(env.role, "admin");
  assert.equal(env.ownerId, "alice");
  assert.deepEqual(env.credentials, { source: "none", accessKeyId: null });
  const members = await (await t.as("alice").get(`/api/environments/${env.id}/members`)).json();
  assert.deepEqual(members.map((m: { userId: string; role: string }) => [m.userId, m.role]), [
    ["alice", "admin"],
  ]);
});

const body = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  region: "us-east-1",
  dbInstanceIdentifier: "prod-mysql-1",
  ...extra,
});

Deno.test("GET /api/environments lists only the caller's environments with their role in each", async () => {
  await using t = await testContext();
  const mine = await t.createEnvironment("alice");
  const shared = await t.createEnvironment("bob");
  await t.createEnvironment("bob");
  await t.addMember(shared.id, "alice", "member", "bob");

  const res = await t.as("alice").get("/api/environments");
  assert.equal(res.status, 200);
  const list = await res.json();
  assert.deepEqual(list.map((e: { id: number; role: string }) => [e.id, e.role]), [
    [mine.id, "admin"],
    [shared.id, "member"],
  ]);
  assert.deepEqual(await (await t.as("carol").get("/api/environments")).json(), []);
});

Deno.test("GET /api/environments/{id} answers a member with the environment and their role", async () => {
  await using t = await testContext({ now: "2026-03-04T05:06:07Z" });
  const env = await t.createEnvironment("alice", body("analytics", { region: "eu-west-1" }));
  await t.addMember(env.id, "bob", "member", "alice");

  const res = await t.as("bob").get(`/api/environments/${env.id}`);
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), {
    id: env.id,
    name: "analytics",
    region: "eu-west-1",
    dbInstanceIdentifier: "prod-mysql-1",
    ownerId: "alice",
    role: "member",
    credentials: { source: "none", accessKeyId: null },
    // No RDS endpoint in this context: nothing is looked up.
    dbiResourceId: null,
    performanceInsights: null,
    resolution: { status: "pending", reason: null },
    createdAt: "2026-03-04T05:06:07.000Z",
    updatedAt: "2026-03-04T05:06:07.000Z",
  });
});

Deno.test("GET /api/environments/{id} answers a non-member exactly as for a missing environment", async () => {
  await using t = await testContext();
  const env = await t.createEnvironment("alice");
  const missingId = env.id + 1000;
  const hidden = await assertProblem(await t.as("mallory").get(`/api/environments/${env.id}`), 404);
  const missing = await assertProblem(
    await t.as("mallory").get(`/api/environments/${missingId}`),
    404,
  );
  assert.equal(hidden.title, missing.title);
  assert.equal(
    hidden.detail.replace(String(env.id), "N"),
    missing.detail.replace(String(missingId), "N"),
  );
});

Deno.test("GET, PATCH and DELETE /api/environments/{id} and its member routes answer 404 to a non-member", async () => {
  await using t = await testContext();
  const env = await t.createEnvironment("alice");
  await t.addMember(env.id, "bob", "member", "alice");
  const mallory = t.as("mallory");
  const base = `/api/environments/${env.id}`;
  await assertProblem(await mallory.get(base), 404);
  await assertProblem(await mallory.patch(base, { name: "stolen" }), 404);
  await assertProblem(await mallory.delete(base), 404);
  await assertProblem(await mallory.get(`${base}/members`), 404);
  await assertProblem(await mallory.put(`${base}/members/mallory`, { role: "admin" }), 404);
  await assertProblem(await mallory.delete(`${base}/members/bob`), 404);
  // Nothing changed.
  const after = await (await t.as("alice").get(base)).json();
  assert.equal(after.name, env.name);
  const members = await (await t.as("alice").get(`${base}/members`)).json();
  assert.deepEqual(members.map((m: { userId: string }) => m.userId), ["alice", "bob"]);
});

Deno.test("PATCH /api/environments/{id} lets an admin change name, region and instance", async () => {
  await using t = await testContext({ now: "2026-01-01T00:00:00Z" });
  const env = await t.createEnvironment("alice");
  t.clock.advance(60_000);
  const res = await t.as("alice").patch(`/api/environments/${env.id}`, {
    name: "renamed",
    region: "ap-southeast-2",
    dbInstanceIdentifier: "replica-2",
  });
  assert.equal(res.status, 200);
  const changed = await res.json();
  assert.equal(changed.name, "renamed");
  assert.equal(changed.region, "ap-southeast-2");
  assert.equal(changed.dbInstanceIdentifier, "replica-2");
  assert.equal(changed.role, "admin");
  assert.equal(changed.createdAt, "2026-01-01T00:00:00.000Z");
  assert.equal(changed.updatedAt, "2026-01-01T00:01:00.000Z");
  assert.deepEqual(await (await t.as("alice").get(`/api/environments/${env.id}`)).json(), changed);
});

Deno.test("PATCH /api/environments/{id} leaves the fields it was not sent alone", async () => {
  await using t = await testContext();
  const env = await t.createEnvironment("alice", body("keep", { region: "eu-west-1" }));
  const res = await t.as("alice").patch(`/api/environments/${env.id}`, {
    dbInstanceIdentifier: "other-db",
  });
  assert.equal(res.status, 200);
  const changed = await res.json();
  assert.equal(changed.name, "keep");
  assert.equal(changed.region, "eu-west-1");
  assert.equal(changed.dbInstanceIdentifier, "other-db");
});

Deno.test("PATCH /api/environments/{id} answers 403 to a member who is not an admin", async () => {
  await using t = await testContext();
  const env = await t.createEnvironment("alice");
  await t.addMember(env.id, "bob", "member", "alice");
  await assertProblem(await t.as("bob").patch(`/api/environments/${env.id}`, { name: "x" }), 403);
  assert.equal(
    (await (await t.as("bob").get(`/api/environments/${env.id}`)).json()).name,
    env.name,
  );
});

Deno.test("PATCH /api/environments/{id} lets a promoted member change it", async () => {
  await using t = await testContext();
  const env = await t.createEnvironment("alice");
  await t.addMember(env.id, "bob", "admin", "alice");
  const res = await t.as("bob").patch(`/api/environments/${env.id}`, { name: "bob-renamed" });
  assert.equal(res.status, 200);
  const changed = await res.json();
  assert.equal(changed.name, "bob-renamed");
  assert.equal(changed.ownerId, "alice");
});

Deno.test("POST /api/environments answers 409 for a name the caller already owns", async () => {
  await using t = await testContext();
  await t.createEnvironment("alice", body("production"));
  const res = await t.as("alice").post("/api/environments", body("production"));
  const problem = await assertProblem(res, 409);
  assert.match(problem.detail, /production/);
  assert.equal(problem.type, "/problems/name-taken");
  // alice got no second environment and no membership from the failed attempt.
  assert.equal((await (await t.as("alice").get("/api/environments")).json()).length, 1);
  const count = await t.client.execute("SELECT count(*) AS n FROM memberships");
  assert.equal(Number(count.rows[0].n), 1);
});

Deno.test("PATCH /api/environments/{id} answers 409 when renaming to a taken name", async () => {
  await using t = await testContext();
  await t.createEnvironment("alice", body("production"));
  const staging = await t.createEnvironment("alice", body("staging"));
  const res = await t.as("alice").patch(`/api/environments/${staging.id}`, { name: "production" });
  const taken = await assertProblem(res, 409);
  assert.match(taken.detail, /production/);
  assert.equal(taken.type, "/problems/name-taken");
  const same = await t.as("alice").patch(`/api/environments/${staging.id}`, { name: "staging" });
  assert.equal(same.status, 200);
  assert.equal((await same.json()).name, "staging");
});

Deno.test("DELETE /api/environments/{id} answers 403 to a member who is not an admin", async () => {
  await using t = await testContext();
  const env = await t.createEnvironment("alice");
  await t.addMember(env.id, "bob", "member", "alice");
  await assertProblem(await t.as("bob").delete(`/api/environments/${env.id}`), 403);
  assert.equal((await t.as("alice").get(`/api/environments/${env.id}`)).status, 200);
});

Deno.test("DELETE /api/environments/{id} removes it with its memberships, captures and snapshots", async () => {
  await using t = await testContext();
  const doomed = await t.createEnvironment("alice");
  const kept = await t.createEnvironment("alice");
  await t.addMember(doomed.id, "bob", "member", "alice");
  const at = t.clock().getTime();
  const capture = (envId: number, name: string) => ({
    envId,
    ownerId: "alice",
    name,
    status: "DONE" as const,
    start: at - 3_600_000,
    end: at,
    duration: 3600,
    createdAt: at,
    updatedAt: at,
  });
  const inserted = await t.db.insert(captures).values([
    capture(doomed.id, "nightly"),
    capture(doomed.id, "weekly"),
    capture(kept.id, "nightly"),
  ]).returning();
  await t.db.insert(captureSnapshots).values(inserted.map((c) => ({
    captureId: c.id,
    period: 60,
    start: c.start!,
    end: c.end!,
    takenAt: at,
  })));

  const res = await t.as("alice").delete(`/api/environments/${doomed.id}`);
  assert.equal(res.status, 204);
  assert.equal(await res.text(), "");

  await assertProblem(await t.as("alice").get(`/api/environments/${doomed.id}`), 404);
  await assertProblem(await t.as("bob").get(`/api/environments/${doomed.id}`), 404);
  const left = await t.db.select().from(captures);
  assert.deepEqual(left.map((c) => [c.envId, c.name]), [[kept.id, "nightly"]]);
  const snapshots = await t.db.select().from(captureSnapshots);
  assert.deepEqual(snapshots.map((s) => s.captureId), [left[0].id]);
  const memberships = await t.client.execute({
    sql: "SELECT count(*) AS n FROM memberships WHERE env_id = ?",
    args: [doomed.id],
  });
  assert.equal(Number(memberships.rows[0].n), 0);
  // The name is free again.
  assert.equal((await t.as("bob").post("/api/environments", body(doomed.name))).status, 201);
});
