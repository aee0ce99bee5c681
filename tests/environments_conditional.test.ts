import assert from "node:assert/strict";
import { type TestContext, testContext } from "./helpers/context.ts";
import { assertProblem } from "./helpers/problem.ts";

// ETag, If-None-Match and If-Match on environments (issue 11 point 4), names unique per owner
// (issue 17 point 3) and the server-wide key id shown to admins only (issue 17 point 6).

/** A request as `user` with extra headers (the context's helpers send none). */
async function send(
  t: TestContext,
  user: string,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: unknown,
) {
  const h: Record<string, string> = { ...headers, Authorization: `Bearer ${await t.token(user)}` };
  if (body !== undefined) h["Content-Type"] = "application/json";
  return t.app.request(path, {
    method,
    headers: h,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

const envBody = (name: string) => ({
  name,
  region: "us-east-1",
  dbInstanceIdentifier: "prod-mysql-1",
});

Deno.test("GET /api/environments/{id} sends a strong ETag and answers a current If-None-Match with 304", async () => {
  await using t = await testContext();
  const env = await t.createEnvironment("alice");
  const res = await send(t, "alice", "GET", `/api/environments/${env.id}`);
  assert.equal(res.status, 200);
  await res.body?.cancel();
  const etag = res.headers.get("etag");
  assert.match(etag ?? "", /^"[\x21\x23-\x7E]+"$/, "a strong tag: quoted, no W/");

  const again = await send(t, "alice", "GET", `/api/environments/${env.id}`, {
    "If-None-Match": `"other", ${etag}`,
  });
  assert.equal(again.status, 304);
  assert.equal(again.headers.get("etag"), etag);
  assert.equal(await again.text(), "");
  // The weak form of the tag matches too: If-None-Match compares weakly.
  const weak = await send(t, "alice", "GET", `/api/environments/${env.id}`, {
    "If-None-Match": `W/${etag}`,
  });
  assert.equal(weak.status, 304);
  await weak.body?.cancel();
  const star = await send(t, "alice", "GET", `/api/environments/${env.id}`, {
    "If-None-Match": "*",
  });
  assert.equal(star.status, 304);
  await star.body?.cancel();
});

Deno.test("GET /api/environments/{id} answers 200 with a new ETag once the environment changed, even within one millisecond", async () => {
  await using t = await testContext();
  const env = await t.createEnvironment("alice");
  const first = await send(t, "alice", "GET", `/api/environments/${env.id}`);
  await first.body?.cancel();
  const etag = first.headers.get("etag")!;
  // The clock does not move: the version, not updatedAt, tells the two states apart.
  await t.as("alice").patch(`/api/environments/${env.id}`, { region: "eu-west-1" });
  await t.as("alice").patch(`/api/environments/${env.id}`, { region: "us-east-1" });
  const res = await send(t, "alice", "GET", `/api/environments/${env.id}`, {
    "If-None-Match": etag,
  });
  assert.equal(res.status, 200);
  assert.equal((await res.json()).region, "us-east-1");
  assert.notEqual(res.headers.get("etag"), etag);
});

Deno.test("GET /api/environments/{id} gives members and admins different ETags for their different answers", async () => {
  await using t = await testContext();
  const env = await t.createEnvironment("alice");
  await t.addMember(env.id, "bob", "member", "alice");
  const admin = await send(t, "alice", "GET", `/api/environments/${env.id}`);
  const member = await send(t, "bob", "GET", `/api/environments/${env.id}`);
  assert.notEqual((await admin.json()).role, (await member.json()).role);
  assert.notEqual(admin.headers.get("etag"), member.headers.get("etag"));
  // bob, promoted, holds a copy that says "member": his old tag no longer answers 304.
  await t.addMember(env.id, "bob", "admin", "alice");
  const promoted = await send(t, "bob", "GET", `/api/environments/${env.id}`, {
    "If-None-Match": member.headers.get("etag")!,
  });
  assert.equal(promoted.status, 200);
  assert.equal((await promoted.json()).role, "admin");
});

Deno.test("PATCH /api/environments/{id} with a stale If-Match answers 412 and changes nothing", async () => {
  await using t = await testContext();
  const env = await t.createEnvironment("alice", envBody("orders"));
  const read = await send(t, "alice", "GET", `/api/environments/${env.id}`);
  await read.body?.cancel();
  const etag = read.headers.get("etag")!;

  // Two editors hold the same copy; the first wins, the second is told it is stale.
  const first = await send(t, "alice", "PATCH", `/api/environments/${env.id}`, {
    "If-Match": etag,
  }, { name: "orders-a" });
  assert.equal(first.status, 200);
  const newTag = first.headers.get("etag");
  assert.ok(newTag && newTag !== etag, "the answer carries the new ETag");
  const second = await send(t, "alice", "PATCH", `/api/environments/${env.id}`, {
    "If-Match": etag,
  }, { name: "orders-b" });
  const problem = await assertProblem(second, 412);
  assert.match(problem.detail, /If-Match/);
  const now = await (await t.as("alice").get(`/api/environments/${env.id}`)).json();
  assert.equal(now.name, "orders-a");

  // The tag the change answered is current: a GET with it is 304, a PATCH with it applies.
  const fresh = await send(t, "alice", "GET", `/api/environments/${env.id}`, {
    "If-None-Match": newTag,
  });
  assert.equal(fresh.status, 304);
  await fresh.body?.cancel();
  const third = await send(t, "alice", "PATCH", `/api/environments/${env.id}`, {
    "If-Match": `"nope", ${newTag}`,
  }, { name: "orders-c" });
  assert.equal(third.status, 200);
  assert.equal((await third.json()).name, "orders-c");
});

Deno.test("PATCH /api/environments/{id} refuses a weak If-Match tag (strong comparison) and accepts *", async () => {
  await using t = await testContext();
  const env = await t.createEnvironment("alice");
  const read = await send(t, "alice", "GET", `/api/environments/${env.id}`);
  await read.body?.cancel();
  const etag = read.headers.get("etag")!;
  const weak = await send(t, "alice", "PATCH", `/api/environments/${env.id}`, {
    "If-Match": `W/${etag}`,
  }, { region: "eu-west-1" });
  await assertProblem(weak, 412);
  const star = await send(t, "alice", "PATCH", `/api/environments/${env.id}`, {
    "If-Match": "*",
  }, { region: "eu-west-1" });
  assert.equal(star.status, 200);
  await star.body?.cancel();
});

Deno.test("PATCH /api/environments/{id} answers 412 for an If-Match naming no tag of ours", async () => {
  await using t = await testContext();
  const env = await t.createEnvironment("alice");
  const other = await t.createEnvironment("alice");
  const read = await send(t, "alice", "GET", `/api/environments/${other.id}`);
  await read.body?.cancel();
  // Garbage, a tag of another environment, and a capture-like tag all match nothing.
  for (const value of ["no-quotes", read.headers.get("etag")!, '"c.1.1.RUNNING"']) {
    const res = await send(t, "alice", "PATCH", `/api/environments/${env.id}`, {
      "If-Match": value,
    }, { region: "eu-west-1" });
    await assertProblem(res, 412);
  }
  const now = await (await t.as("alice").get(`/api/environments/${env.id}`)).json();
  assert.equal(now.region, "us-east-1");
});

Deno.test("PATCH and DELETE /api/environments/{id} answer 404 to a non-member and 403 to a member before any If-Match", async () => {
  await using t = await testContext();
  const env = await t.createEnvironment("alice");
  await t.addMember(env.id, "bob", "member", "alice");
  for (const method of ["PATCH", "DELETE"]) {
    const body = method === "PATCH" ? { region: "eu-west-1" } : undefined;
    const path = `/api/environments/${env.id}`;
    await assertProblem(await send(t, "carol", method, path, { "If-Match": '"1.x"' }, body), 404);
    await assertProblem(await send(t, "bob", method, path, { "If-Match": '"1.x"' }, body), 403);
  }
});

Deno.test("DELETE /api/environments/{id} with a stale If-Match answers 412 and keeps the environment; with the current one deletes it", async () => {
  await using t = await testContext();
  const env = await t.createEnvironment("alice");
  const read = await send(t, "alice", "GET", `/api/environments/${env.id}`);
  await read.body?.cancel();
  const etag = read.headers.get("etag")!;
  const patched = await t.as("alice").patch(`/api/environments/${env.id}`, { name: "renamed" });
  const current = patched.headers.get("etag")!;
  await patched.body?.cancel();

  await assertProblem(
    await send(t, "alice", "DELETE", `/api/environments/${env.id}`, { "If-Match": etag }),
    412,
  );
  assert.equal((await t.as("alice").get(`/api/environments/${env.id}`)).status, 200);
  const members = await t.client.execute("SELECT count(*) AS n FROM memberships");
  assert.equal(Number(members.rows[0].n), 1, "the refused delete left the memberships alone");

  const res = await send(t, "alice", "DELETE", `/api/environments/${env.id}`, {
    "If-Match": current,
  });
  assert.equal(res.status, 204);
  await assertProblem(await t.as("alice").get(`/api/environments/${env.id}`), 404);
});

Deno.test("POST /api/environments lets two owners both have prod; the 409 for one's own second prod names no other environment", async () => {
  await using t = await testContext();
  const alices = await t.as("alice").post("/api/environments", envBody("prod"));
  assert.equal(alices.status, 201);
  const bobs = await t.as("bob").post("/api/environments", envBody("prod"));
  assert.equal(bobs.status, 201, "another owner's prod does not block bob's");
  const bobsId = (await bobs.json()).id;
  await alices.body?.cancel();

  const again = await t.as("bob").post("/api/environments", envBody("prod"));
  const problem = await assertProblem(again, 409);
  assert.match(problem.detail, /You already own an environment named "prod"/);
  assert.doesNotMatch(problem.detail, /alice|\d/, "no owner, no id");
  const list = await (await t.as("bob").get("/api/environments")).json();
  assert.deepEqual(list.map((e: { id: number }) => e.id), [bobsId]);
});

Deno.test("PATCH /api/environments/{id} checks a new name against its owner's environments only; a co-admin's 409 does not confirm the owner's names", async () => {
  await using t = await testContext();
  const shared = await t.createEnvironment("alice", envBody("staging"));
  await t.createEnvironment("alice", envBody("prod"));
  await t.createEnvironment("bob", envBody("bobs-own"));
  await t.createEnvironment("carol", envBody("carols"));
  await t.addMember(shared.id, "bob", "admin", "alice");

  // bob's and carol's names are theirs: alice's environment may take them.
  for (const name of ["bobs-own", "carols"]) {
    const res = await t.as("bob").patch(`/api/environments/${shared.id}`, { name });
    assert.equal(res.status, 200, name);
    await res.body?.cancel();
  }
  // alice already owns prod: bob, a co-admin but not the owner, is told only that the name cannot
  // be used here, not that alice owns an environment of that name, nor which one.
  const clash = await t.as("bob").patch(`/api/environments/${shared.id}`, { name: "prod" });
  const problem = await assertProblem(clash, 409);
  assert.equal(problem.type.endsWith("name-taken"), true, problem.type);
  assert.match(problem.detail, /names are unique per owner, pick another/);
  assert.doesNotMatch(problem.detail, /owner of|already|alice/i, "confirms nothing of the owner's");
  const ids = (await t.client.execute("SELECT id FROM environments WHERE name = 'prod'")).rows;
  assert.doesNotMatch(problem.detail, new RegExp(`\\b(${ids[0].id}|${shared.id})\\b`));
  // The owner renaming the same environment still hears plainly that she owns one by that name.
  const own = await t.as("alice").patch(`/api/environments/${shared.id}`, { name: "prod" });
  const ownProblem = await assertProblem(own, 409);
  assert.match(ownProblem.detail, /You already own an environment named "prod"/);
});

Deno.test("the server-wide access key id (masked) is shown to an environment's admins only", async () => {
  await using t = await testContext({
    env: {
      AWS_ACCESS_KEY_ID: "AKIASERVERWIDE005678",
      AWS_SECRET_ACCESS_KEY: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    },
  });
  const env = await t.createEnvironment("alice");
  await t.addMember(env.id, "bob", "member", "alice");
  const admin = await (await t.as("alice").get(`/api/environments/${env.id}`)).json();
  assert.deepEqual(admin.credentials, { source: "server", accessKeyId: "AKIA…5678" });
  const memberText = await (await t.as("bob").get(`/api/environments/${env.id}`)).text();
  assert.deepEqual(JSON.parse(memberText).credentials, { source: "server", accessKeyId: null });
  const listed = await (await t.as("bob").get("/api/environments")).text();
  for (const text of [memberText, listed]) {
    assert.doesNotMatch(text, /5678|AKIA/, "no part of the key id reaches a member");
  }
});

Deno.test("PATCH and DELETE /api/environments/{id} with an empty If-Match over a real listener answer 412", async () => {
  await using t = await testContext();
  await using server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, t.app.fetch);
  const env = await t.createEnvironment("alice");
  const url = `http://127.0.0.1:${server.addr.port}/api/environments/${env.id}`;
  for (const blank of ["", " "]) {
    const headers = { Authorization: `Bearer ${await t.token("alice")}`, "If-Match": blank };
    const patch = await fetch(url, {
      method: "PATCH",
      headers: { ...headers, "Content-Type": "application/json" },
      body: JSON.stringify({ region: "eu-west-1" }),
    });
    await assertProblem(patch, 412);
    await assertProblem(await fetch(url, { method: "DELETE", headers }), 412);
  }
  const now = await (await t.as("alice").get(`/api/environments/${env.id}`)).json();
  assert.equal(now.region, "us-east-1");
});
