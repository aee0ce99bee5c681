import assert from "node:assert/strict";
import { updateCaptureIfEditable } from "../db/captures.ts";
import { HOUR, NOW, postCapture } from "./helpers/captures.ts";
import { testContext } from "./helpers/context.ts";
import { assertProblem } from "./helpers/problem.ts";

Deno.test("GET /api/captures/{id} sends an ETag; If-None-Match with it answers 304", async () => {
  await using t = await testContext({ now: NOW });
  const env = await t.createEnvironment("alice");
  const { res: created, capture } = await postCapture(t, "alice", {
    name: "peak",
    envId: env.id,
    duration: 3600,
  });
  const res = await t.as("alice").get(`/api/captures/${capture.id}`);
  await res.body?.cancel();
  const etag = res.headers.get("etag")!;
  assert.match(etag, /^"[^"]+"$/);
  assert.equal(created.headers.get("etag"), etag, "POST answers the same ETag");
  for (const condition of [etag, `W/${etag}`, `"other", ${etag}`, "*"]) {
    const cached = await t.as("alice").get(`/api/captures/${capture.id}`, {
      "If-None-Match": condition,
    });
    assert.equal(cached.status, 304, condition);
    assert.equal(await cached.text(), "");
    assert.equal(cached.headers.get("etag"), etag);
  }
  const other = await t.as("alice").get(`/api/captures/${capture.id}`, {
    "If-None-Match": '"other"',
  });
  assert.equal(other.status, 200);
  await other.body?.cancel();
  // The status moves on with time (RUNNING → DONE) without a write; so does the ETag.
  t.clock.advance(2 * HOUR);
  const later = await t.as("alice").get(`/api/captures/${capture.id}`, { "If-None-Match": etag });
  assert.equal(later.status, 200);
  assert.equal((await later.json()).status, "DONE");
  assert.notEqual(later.headers.get("etag"), etag);
});

Deno.test("two editors: the second, sending the ETag it read, gets 412 and changes nothing", async () => {
  await using t = await testContext({ now: NOW });
  const env = await t.createEnvironment("alice");
  await t.addMember(env.id, "bob", "admin", "alice");
  const { capture } = await postCapture(t, "alice", { name: "peak", envId: env.id });
  const read = async (user: string) => {
    const res = await t.as(user).get(`/api/captures/${capture.id}`);
    await res.body?.cancel();
    return res.headers.get("etag")!;
  };
  const aliceTag = await read("alice");
  const bobTag = await read("bob");
  const alice = await t.as("alice").put(`/api/captures/${capture.id}`, { name: "alice-name" }, {
    "If-Match": aliceTag,
  });
  assert.equal(alice.status, 200);
  await alice.body?.cancel();
  assert.notEqual(alice.headers.get("etag"), aliceTag);
  assert.equal(alice.headers.get("etag"), await read("alice"));
  const bob = await t.as("bob").patch(`/api/captures/${capture.id}`, { name: "bob-name" }, {
    "If-Match": bobTag,
  });
  const stale = await assertProblem(bob, 412);
  assert.equal(stale.type, "/problems/precondition-failed");
  const now = await (await t.as("bob").get(`/api/captures/${capture.id}`)).json();
  assert.equal(now.name, "alice-name");
  // Without If-Match, or with *, the last write still wins as before.
  const star = await t.as("bob").patch(`/api/captures/${capture.id}`, { name: "bob-name" }, {
    "If-Match": "*",
  });
  assert.equal(star.status, 200);
  await star.body?.cancel();
});

Deno.test("stop and DELETE hold to If-Match: 412 when stale, done when current", async () => {
  await using t = await testContext({ now: NOW });
  const env = await t.createEnvironment("alice");
  const { capture, res } = await postCapture(t, "alice", { name: "peak", envId: env.id });
  const first = res.headers.get("etag")!;
  await t.as("alice").put(`/api/captures/${capture.id}`, { duration: 7200 }).then((r) =>
    r.body?.cancel()
  );
  const path = `/api/captures/${capture.id}`;
  await assertProblem(
    await t.as("alice").post(`${path}/stop`, undefined, { "If-Match": first }),
    412,
  );
  await assertProblem(await t.as("alice").delete(path, { "If-Match": first }), 412);
  await assertProblem(await t.as("alice").delete(path, { "If-Match": "not-a-tag" }), 412);
  const current = (await t.as("alice").get(path)).headers.get("etag")!;
  const stopped = await t.as("alice").post(`${path}/stop`, undefined, { "If-Match": current });
  assert.equal(stopped.status, 200);
  await stopped.body?.cancel();
  const done = stopped.headers.get("etag")!;
  assert.equal((await t.as("alice").delete(path, { "If-Match": done })).status, 204);
  // Gone is 404, not 412.
  await assertProblem(await t.as("alice").delete(path, { "If-Match": done }), 404);
});

Deno.test("If-Match is decided inside the UPDATE: a version changed meanwhile matches nothing", async () => {
  await using t = await testContext({ now: NOW });
  const env = await t.createEnvironment("alice");
  const { capture } = await postCapture(t, "alice", { name: "peak", envId: env.id });
  const now = t.clock().getTime();
  const expected = [{ version: 1, status: "RUNNING" as const }];
  const first = await updateCaptureIfEditable(
    t.db,
    capture.id,
    "alice",
    { name: "x" },
    now,
    expected,
  );
  assert.equal(typeof first === "object" && first.version, 2);
  // The same expectation again (a second writer that read version 1) changes nothing.
  assert.equal(
    await updateCaptureIfEditable(t.db, capture.id, "alice", { name: "y" }, now, expected),
    undefined,
  );
  assert.equal(
    await updateCaptureIfEditable(t.db, capture.id, "alice", { name: "y" }, now, [
      { version: 2, status: "SCHEDULED" },
    ]),
    undefined,
    "the status in the tag counts too",
  );
});

Deno.test("an empty If-Match over a real listener matches nothing: PUT, stop and DELETE answer 412", async () => {
  await using t = await testContext({ now: NOW });
  await using server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, t.app.fetch);
  const env = await t.createEnvironment("alice");
  const { capture } = await postCapture(t, "alice", { name: "peak", envId: env.id });
  const url = `http://127.0.0.1:${server.addr.port}/api/captures/${capture.id}`;
  const send = async (method: string, path: string, ifMatch: string, body?: unknown) =>
    await fetch(url + path, {
      method,
      headers: {
        Authorization: `Bearer ${await t.token("alice")}`,
        "If-Match": ifMatch,
        ...(body === undefined ? {} : { "Content-Type": "application/json" }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  // `If-Match:` with an empty value, as `curl -H 'If-Match;'` sends it, and blanks around nothing.
  for (const blank of ["", " ", ","]) {
    await assertProblem(await send("PUT", "", blank, { name: "changed" }), 412);
    await assertProblem(await send("POST", "/stop", blank), 412);
    await assertProblem(await send("DELETE", "", blank), 412);
  }
  const now = await (await t.as("alice").get(`/api/captures/${capture.id}`)).json();
  assert.equal(now.name, "peak");
  assert.equal(now.status, "RUNNING");
});

Deno.test("GET one (read by its API columns) carries the version an edit moved: its ETag is the PUT's", async () => {
  await using t = await testContext({ now: NOW });
  const env = await t.createEnvironment("alice");
  const { res: created, capture } = await postCapture(t, "alice", {
    name: "peak",
    envId: env.id,
    duration: 3600,
  });
  const put = await t.as("alice").put(`/api/captures/${capture.id}`, { name: "peak 2" }, {
    "If-Match": created.headers.get("etag")!,
  });
  assert.equal(put.status, 200);
  await put.body?.cancel();
  const etag = put.headers.get("etag")!;
  assert.notEqual(etag, created.headers.get("etag"));
  const read = await t.as("alice").get(`/api/captures/${capture.id}`);
  assert.equal(read.headers.get("etag"), etag);
  assert.equal((await read.json()).name, "peak 2");
});
