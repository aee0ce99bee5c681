import assert from "node:assert/strict";
import { putMemberIfAdmin, removeMemberIfAllowed } from "../db/memberships.ts";
import { type TestContext, testContext } from "./helpers/context.ts";
import { assertProblem } from "./helpers/problem.ts";

type Member = { userId: string; role: string; createdAt: string };

async function members(t: TestContext, envId: number, as = "alice") {
  const res = await t.as(as).get(`/api/environments/${envId}/members`);
  assert.equal(res.status, 200);
  return (await res.json() as Member[]).map((m) => [m.userId, m.role]);
}

Deno.test("GET /api/environments/{id}/members lets any member read the list, admins first", async () => {
  await using t = await testContext({ now: "2026-02-03T04:05:06Z" });
  const env = await t.createEnvironment("zoe");
  await t.addMember(env.id, "adam", "member", "zoe");
  await t.addMember(env.id, "bob", "admin", "zoe");
  assert.deepEqual(await members(t, env.id, "adam"), [
    ["bob", "admin"],
    ["zoe", "admin"],
    ["adam", "member"],
  ]);
  const res = await t.as("adam").get(`/api/environments/${env.id}/members`);
  const list = await res.json() as Member[];
  assert.ok(list.every((m) => m.createdAt === "2026-02-03T04:05:06.000Z"));
});

Deno.test("PUT /api/environments/{id}/members/{userId} lets an admin add a member (201) and change a role (200)", async () => {
  await using t = await testContext({ now: "2026-01-01T00:00:00Z" });
  const env = await t.createEnvironment("alice");
  const path = `/api/environments/${env.id}/members/bob`;

  const added = await t.as("alice").put(path, { role: "member" });
  assert.equal(added.status, 201);
  assert.deepEqual(await added.json(), {
    userId: "bob",
    role: "member",
    createdAt: "2026-01-01T00:00:00.000Z",
  });
  assert.equal(
    (await (await t.as("bob").get(`/api/environments/${env.id}`)).json()).role,
    "member",
  );

  t.clock.advance(60_000);
  const promoted = await t.as("alice").put(path, { role: "admin" });
  assert.equal(promoted.status, 200);
  // A role change keeps the date the member joined.
  assert.deepEqual(await promoted.json(), {
    userId: "bob",
    role: "admin",
    createdAt: "2026-01-01T00:00:00.000Z",
  });
  assert.equal((await (await t.as("bob").get(`/api/environments/${env.id}`)).json()).role, "admin");

  const again = await t.as("alice").put(path, { role: "admin" });
  assert.equal(again.status, 200);
  assert.deepEqual(await members(t, env.id), [["alice", "admin"], ["bob", "admin"]]);
});

Deno.test("PUT /api/environments/{id}/members/{userId} answers 403 to a member who is not an admin", async () => {
  await using t = await testContext();
  const env = await t.createEnvironment("alice");
  await t.addMember(env.id, "bob", "member", "alice");
  await assertProblem(
    await t.as("bob").put(`/api/environments/${env.id}/members/carol`, { role: "member" }),
    403,
  );
  await assertProblem(
    await t.as("bob").put(`/api/environments/${env.id}/members/bob`, { role: "admin" }),
    403,
  );
  assert.deepEqual(await members(t, env.id), [["alice", "admin"], ["bob", "member"]]);
});

Deno.test("PUT /api/environments/{id}/members/{userId} answers 400 naming role for an unknown role", async () => {
  await using t = await testContext();
  const env = await t.createEnvironment("alice");
  const res = await t.as("alice").put(`/api/environments/${env.id}/members/bob`, { role: "owner" });
  const problem = await assertProblem(res, 400);
  assert.deepEqual(problem.errors?.map((e) => e.path), ["role"]);
  assert.deepEqual(await members(t, env.id), [["alice", "admin"]]);
});

Deno.test("PUT /api/environments/{id}/members/{userId} answers 409 when demoting the last admin", async () => {
  await using t = await testContext();
  const env = await t.createEnvironment("alice");
  await t.addMember(env.id, "bob", "member", "alice");
  const res = await t.as("alice").put(`/api/environments/${env.id}/members/alice`, {
    role: "member",
  });
  const problem = await assertProblem(res, 409);
  assert.match(problem.detail, /last admin/);
  assert.equal(problem.type, "/problems/invalid-state");
  assert.deepEqual(await members(t, env.id), [["alice", "admin"], ["bob", "member"]]);
});

Deno.test("DELETE /api/environments/{id}/members/{userId} answers 409 when removing the last admin", async () => {
  await using t = await testContext();
  const env = await t.createEnvironment("alice");
  await t.addMember(env.id, "bob", "member", "alice");
  const res = await t.as("alice").delete(`/api/environments/${env.id}/members/alice`);
  const problem = await assertProblem(res, 409);
  assert.match(problem.detail, /last admin/);
  assert.equal(problem.type, "/problems/invalid-state");
  assert.deepEqual(await members(t, env.id), [["alice", "admin"], ["bob", "member"]]);
});

Deno.test("PUT /api/environments/{id}/members/{userId} demotes the first admin once another is promoted", async () => {
  await using t = await testContext();
  const env = await t.createEnvironment("alice");
  await t.addMember(env.id, "bob", "admin", "alice");
  const res = await t.as("alice").put(`/api/environments/${env.id}/members/alice`, {
    role: "member",
  });
  assert.equal(res.status, 200);
  assert.deepEqual(await members(t, env.id), [["bob", "admin"], ["alice", "member"]]);
  // bob is now the last admin.
  await assertProblem(
    await t.as("bob").put(`/api/environments/${env.id}/members/bob`, { role: "member" }),
    409,
  );
});

Deno.test("DELETE /api/environments/{id}/members/{userId} removes the first admin once another is promoted", async () => {
  await using t = await testContext();
  const env = await t.createEnvironment("alice");
  await t.addMember(env.id, "bob", "admin", "alice");
  const res = await t.as("bob").delete(`/api/environments/${env.id}/members/alice`);
  assert.equal(res.status, 204);
  assert.deepEqual(await members(t, env.id, "bob"), [["bob", "admin"]]);
  await assertProblem(await t.as("alice").get(`/api/environments/${env.id}`), 404);
  await assertProblem(await t.as("bob").delete(`/api/environments/${env.id}/members/bob`), 409);
});

Deno.test("PUT /api/environments/{id}/members/{userId} keeps one admin when the last two demote each other at once", async () => {
  await using t = await testContext();
  const env = await t.createEnvironment("alice");
  await t.addMember(env.id, "bob", "admin", "alice");
  const statuses = await Promise.all([
    t.as("alice").put(`/api/environments/${env.id}/members/bob`, { role: "member" }),
    t.as("bob").put(`/api/environments/${env.id}/members/alice`, { role: "member" }),
  ].map(async (pending) => {
    const res = await pending;
    await res.body?.cancel();
    return res.status;
  }));
  // The loser is refused either by the last-admin rule (409) or, if the winner got there first,
  // because it is no longer an admin (403).
  assert.equal(statuses.filter((s) => s === 200).length, 1, statuses.join());
  assert.ok(statuses.some((s) => s === 403 || s === 409), statuses.join());
  const roles = (await members(t, env.id, "alice")).map(([, role]) => role);
  assert.deepEqual(roles.sort(), ["admin", "member"]);
});

Deno.test("DELETE /api/environments/{id}/members/{userId} keeps one admin when the last two remove each other at once", async () => {
  await using t = await testContext();
  const env = await t.createEnvironment("alice");
  await t.addMember(env.id, "bob", "admin", "alice");
  const statuses = await Promise.all([
    t.as("alice").delete(`/api/environments/${env.id}/members/bob`),
    t.as("bob").delete(`/api/environments/${env.id}/members/alice`),
  ].map(async (pending) => {
    const res = await pending;
    await res.body?.cancel();
    return res.status;
  }));
  // The loser is refused by the last-admin rule (409) or, if the winner got there first, because
  // it is no longer a member (404).
  assert.equal(statuses.filter((s) => s === 204).length, 1, statuses.join());
  assert.ok(statuses.some((s) => s === 404 || s === 409), statuses.join());
  const rows = await t.client.execute({
    sql: "SELECT role FROM memberships WHERE env_id = ?",
    args: [env.id],
  });
  assert.deepEqual(rows.rows.map((r) => r.role), ["admin"]);
});

Deno.test("DELETE /api/environments/{id}/members/{userId} lets a member remove themselves", async () => {
  await using t = await testContext();
  const env = await t.createEnvironment("alice");
  await t.addMember(env.id, "bob", "member", "alice");
  const res = await t.as("bob").delete(`/api/environments/${env.id}/members/bob`);
  assert.equal(res.status, 204);
  await assertProblem(await t.as("bob").get(`/api/environments/${env.id}`), 404);
  assert.deepEqual(await members(t, env.id), [["alice", "admin"]]);
});

Deno.test("DELETE /api/environments/{id}/members/{userId} answers 403 to a member removing someone else", async () => {
  await using t = await testContext();
  const env = await t.createEnvironment("alice");
  await t.addMember(env.id, "bob", "member", "alice");
  await t.addMember(env.id, "carol", "member", "alice");
  await assertProblem(await t.as("bob").delete(`/api/environments/${env.id}/members/carol`), 403);
  await assertProblem(await t.as("bob").delete(`/api/environments/${env.id}/members/alice`), 403);
  assert.deepEqual(await members(t, env.id), [
    ["alice", "admin"],
    ["bob", "member"],
    ["carol", "member"],
  ]);
});

Deno.test("DELETE /api/environments/{id}/members/{userId} lets an admin remove a member", async () => {
  await using t = await testContext();
  const env = await t.createEnvironment("alice");
  await t.addMember(env.id, "bob", "member", "alice");
  assert.equal((await t.as("alice").delete(`/api/environments/${env.id}/members/bob`)).status, 204);
  assert.deepEqual(await members(t, env.id), [["alice", "admin"]]);
  await assertProblem(await t.as("bob").get(`/api/environments/${env.id}/members`), 404);
});

Deno.test("DELETE /api/environments/{id}/members/{userId} answers 404 for a user who is not a member", async () => {
  await using t = await testContext();
  const env = await t.createEnvironment("alice");
  const res = await t.as("alice").delete(`/api/environments/${env.id}/members/nobody`);
  assert.match((await assertProblem(res, 404)).detail, /nobody/);
});

Deno.test("PUT /api/environments/{id}/members/{userId} accepts user ids that need URL encoding", async () => {
  await using t = await testContext();
  const env = await t.createEnvironment("alice");
  const userId = "auth0|user@example.com";
  const path = `/api/environments/${env.id}/members/${encodeURIComponent(userId)}`;
  assert.equal((await t.as("alice").put(path, { role: "member" })).status, 201);
  assert.equal((await t.as(userId).get(`/api/environments/${env.id}`)).status, 200);
  assert.equal((await t.as("alice").delete(path)).status, 204);
  assert.deepEqual(await members(t, env.id), [["alice", "admin"]]);
});

// Each admin demotes (removes) themselves: both are admins, so only the last-admin rule decides.
const setRole = (t: TestContext, envId: number, userId: string, role: "admin" | "member") =>
  putMemberIfAdmin(t.db, { envId, actorId: userId, userId, role }, t.clock());

Deno.test("putMemberIfAdmin() demotes only one of the last two admins when both run at once", async () => {
  await using t = await testContext();
  const env = await t.createEnvironment("alice");
  await t.addMember(env.id, "bob", "admin", "alice");
  for (let round = 0; round < 5; round++) {
    const results = await Promise.all([
      setRole(t, env.id, "alice", "member"),
      setRole(t, env.id, "bob", "member"),
    ]);
    assert.equal(results.filter((r) => r === undefined).length, 1);
    const admins = await t.client.execute({
      sql: "SELECT user_id FROM memberships WHERE env_id = ? AND role = 'admin'",
      args: [env.id],
    });
    assert.equal(admins.rows.length, 1);
    const admin = String(admins.rows[0].user_id);
    await putMemberIfAdmin(t.db, {
      envId: env.id,
      actorId: admin,
      userId: admin === "alice" ? "bob" : "alice",
      role: "admin",
    }, t.clock());
  }
});

Deno.test("removeMemberIfAllowed() removes only one of the last two admins when both run at once", async () => {
  await using t = await testContext();
  const env = await t.createEnvironment("alice");
  for (let round = 0; round < 5; round++) {
    const [admin] = (await t.client.execute({
      sql: "SELECT user_id FROM memberships WHERE env_id = ? AND role = 'admin'",
      args: [env.id],
    })).rows.map((r) => String(r.user_id));
    const other = admin === "alice" ? "bob" : "alice";
    await putMemberIfAdmin(
      t.db,
      { envId: env.id, actorId: admin, userId: other, role: "admin" },
      t.clock(),
    );
    const results = await Promise.all([
      removeMemberIfAllowed(t.db, { envId: env.id, actorId: "alice", userId: "alice" }),
      removeMemberIfAllowed(t.db, { envId: env.id, actorId: "bob", userId: "bob" }),
    ]);
    assert.deepEqual(results.sort(), [false, true]);
    const admins = await t.client.execute({
      sql: "SELECT user_id FROM memberships WHERE env_id = ? AND role = 'admin'",
      args: [env.id],
    });
    assert.equal(admins.rows.length, 1);
  }
});
