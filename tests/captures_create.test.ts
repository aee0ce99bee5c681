import assert from "node:assert/strict";
import { eq } from "drizzle-orm";
import { captures } from "../db/schema.ts";
import { insertCapture, type NewCapture } from "../db/captures.ts";
import { type TestContext, testContext } from "./helpers/context.ts";
import { assertProblem } from "./helpers/problem.ts";
import { at, HOUR, MINUTE, NOW, postCapture } from "./helpers/captures.ts";

const create = postCapture;

async function storedRow(t: TestContext, id: number) {
  const [row] = await t.db.select().from(captures).where(eq(captures.id, id));
  return row;
}

Deno.test("POST /api/captures starts a capture now and answers 201 with its Location", async () => {
  await using t = await testContext({ now: NOW });
  const env = await t.createEnvironment("owner");
  const { res, capture } = await create(t, "owner", {
    name: "black-friday-peak",
    envId: env.id,
    duration: 3600,
  });
  assert.equal(res.headers.get("location"), `/api/captures/${capture.id}`);
  assert.deepEqual(capture, {
    id: capture.id,
    envId: env.id,
    ownerId: "owner",
    name: "black-friday-peak",
    status: "RUNNING",
    scheduledStart: null,
    scheduledEnd: at(HOUR),
    start: at(0),
    end: null,
    duration: 3600,
    reason: null,
    createdAt: at(0),
    updatedAt: at(0),
  });
  const fetched = await t.as("owner").get(res.headers.get("location")!);
  assert.equal(fetched.status, 200);
  assert.deepEqual(await fetched.json(), capture);
});

Deno.test("POST /api/captures without a duration starts an open-ended capture", async () => {
  await using t = await testContext({ now: NOW });
  const env = await t.createEnvironment("owner");
  const { capture } = await create(t, "owner", { name: "open", envId: env.id });
  assert.equal(capture.status, "RUNNING");
  assert.equal(capture.start, at(0));
  assert.equal(capture.duration, null);
  assert.equal(capture.scheduledEnd, null);
});

for (const status of ["STARTED", "STARTING", "RUNNING"]) {
  Deno.test(`POST /api/captures with status ${status} starts the capture now`, async () => {
    await using t = await testContext({ now: NOW });
    const env = await t.createEnvironment("owner");
    const { capture } = await create(t, "owner", {
      name: `c-${status}`,
      envId: env.id,
      status,
      duration: 600,
    });
    assert.equal(capture.status, "RUNNING");
    assert.equal(capture.start, at(0));
    assert.equal(capture.scheduledStart, null);
    assert.equal(capture.scheduledEnd, at(10 * MINUTE));
    assert.equal((await storedRow(t, capture.id)).status, "RUNNING");
  });
}

Deno.test("POST /api/captures with a future scheduledStart makes a SCHEDULED capture", async () => {
  await using t = await testContext({ now: NOW });
  const env = await t.createEnvironment("owner");
  for (const extra of [{}, { status: "SCHEDULED" }]) {
    const { capture } = await create(t, "owner", {
      name: `scheduled-${Object.keys(extra).length}`,
      envId: env.id,
      scheduledStart: at(2 * HOUR),
      duration: 1800,
      ...extra,
    });
    assert.equal(capture.status, "SCHEDULED");
    assert.equal(capture.scheduledStart, at(2 * HOUR));
    assert.equal(capture.scheduledEnd, at(2 * HOUR + 30 * MINUTE));
    assert.equal(capture.start, null);
    assert.equal(capture.end, null);
    assert.equal(capture.duration, 1800);
  }
});

Deno.test("POST /api/captures with a past start backfills a capture that is still RUNNING", async () => {
  await using t = await testContext({ now: NOW });
  const env = await t.createEnvironment("owner");
  const { capture } = await create(t, "owner", {
    name: "backfill-running",
    envId: env.id,
    start: at(-30 * MINUTE),
    duration: 3600,
  });
  assert.equal(capture.status, "RUNNING");
  assert.equal(capture.start, at(-30 * MINUTE));
  assert.equal(capture.end, null);
  assert.equal(capture.scheduledEnd, at(30 * MINUTE));
  assert.equal((await storedRow(t, capture.id)).status, "RUNNING");
});

Deno.test("POST /api/captures with a past start whose window has ended is DONE at once", async () => {
  await using t = await testContext({ now: NOW });
  const env = await t.createEnvironment("owner");
  const { capture } = await create(t, "owner", {
    name: "backfill-done",
    envId: env.id,
    start: at(-2 * HOUR),
    duration: 3600,
  });
  assert.equal(capture.status, "DONE");
  assert.equal(capture.start, at(-2 * HOUR));
  assert.equal(capture.end, at(-HOUR));
  assert.equal(capture.duration, 3600);
  const row = await storedRow(t, capture.id);
  assert.equal(row.status, "DONE");
  assert.equal(row.end, Date.parse(at(-HOUR)));
});

Deno.test("POST /api/captures with a window ending exactly now is DONE", async () => {
  await using t = await testContext({ now: NOW });
  const env = await t.createEnvironment("owner");
  const { capture } = await create(t, "owner", {
    name: "ends-now",
    envId: env.id,
    start: at(-HOUR),
    duration: 3600,
  });
  assert.equal(capture.status, "DONE");
  assert.equal(capture.end, at(0));
});

Deno.test("POST /api/captures accepts the boundaries of name and duration", async () => {
  await using t = await testContext({ now: NOW });
  const env = await t.createEnvironment("owner");
  const longest = "n".repeat(100);
  assert.equal((await create(t, "owner", { name: longest, envId: env.id })).capture.name, longest);
  for (const duration of [60, 2_592_000]) {
    const { capture } = await create(t, "owner", { name: `d${duration}`, envId: env.id, duration });
    assert.equal(capture.duration, duration);
  }
});

Deno.test("POST /api/captures lets a plain member create a capture they own", async () => {
  await using t = await testContext({ now: NOW });
  const env = await t.createEnvironment("owner");
  await t.addMember(env.id, "mia", "member");
  const { capture } = await create(t, "mia", { name: "mine", envId: env.id });
  assert.equal(capture.ownerId, "mia");
});

const invalidBodies: { why: string; path: string; body: Record<string, unknown> }[] = [
  { why: "an empty name", path: "name", body: { name: "" } },
  { why: "a blank name", path: "name", body: { name: "   " } },
  { why: "a 101-character name", path: "name", body: { name: "n".repeat(101) } },
  { why: "a name with a control character", path: "name", body: { name: "bad\u0007name" } },
  { why: "a name with a newline", path: "name", body: { name: "two\nlines" } },
  { why: "a missing name", path: "name", body: { name: undefined } },
  { why: "a duration of 59 seconds", path: "duration", body: { duration: 59 } },
  { why: "a duration of 2,592,001 seconds", path: "duration", body: { duration: 2_592_001 } },
  { why: "a fractional duration", path: "duration", body: { duration: 1.5 } },
  { why: "a duration given as a string", path: "duration", body: { duration: "3600" } },
  { why: "a missing envId", path: "envId", body: { envId: undefined } },
  { why: "an envId given as a string", path: "envId", body: { envId: "one" } },
  { why: "a past scheduledStart", path: "scheduledStart", body: { scheduledStart: at(-MINUTE) } },
  {
    why: "a scheduledStart of exactly now",
    path: "scheduledStart",
    body: { scheduledStart: at(0) },
  },
  {
    why: "a scheduledStart that is not a date",
    path: "scheduledStart",
    body: { scheduledStart: "soon" },
  },
  { why: "a future start", path: "start", body: { start: at(MINUTE) } },
  {
    why: "SCHEDULED without scheduledStart",
    path: "scheduledStart",
    body: { status: "SCHEDULED" },
  },
  {
    why: "both start and scheduledStart",
    path: "start",
    body: { start: at(-HOUR), scheduledStart: at(HOUR) },
  },
  {
    why: "a start-now status with scheduledStart",
    path: "status",
    body: { status: "STARTED", scheduledStart: at(HOUR) },
  },
  { why: "an unknown status", path: "status", body: { status: "DONE" } },
  { why: "an unknown field", path: "bogus", body: { bogus: true } },
];

for (const { why, path, body } of invalidBodies) {
  Deno.test(`POST /api/captures answers 400 naming ${path} for ${why}`, async () => {
    await using t = await testContext({ now: NOW });
    const env = await t.createEnvironment("owner");
    const res = await t.as("owner").post("/api/captures", {
      name: "valid-name",
      envId: env.id,
      ...body,
    });
    const problem = await assertProblem(res, 400);
    assert.ok(problem.errors?.length, "the problem lists errors");
    assert.deepEqual(
      [...new Set(problem.errors!.map((e) => e.path))],
      [path],
      `errors: ${JSON.stringify(problem.errors)}`,
    );
    assert.match(problem.detail, new RegExp(path));
    const rows = await t.db.select().from(captures);
    assert.equal(rows.length, 0, "nothing was stored");
  });
}

Deno.test("POST /api/captures answers 400 for a body that is not JSON", async () => {
  await using t = await testContext({ now: NOW });
  await t.createEnvironment("owner");
  const res = await t.app.request("/api/captures", {
    method: "POST",
    headers: {
      Authorization: `Bearer ${await t.token("owner")}`,
      "Content-Type": "application/json",
    },
    body: '{"name": "x", "envId": ',
  });
  const problem = await assertProblem(res, 400);
  assert.match(problem.detail, /JSON/);
  assert.equal((await t.db.select().from(captures)).length, 0);
});

Deno.test("POST /api/captures answers 409 for a name taken in the same environment", async () => {
  await using t = await testContext({ now: NOW });
  const env = await t.createEnvironment("owner");
  await t.addMember(env.id, "mia", "member");
  await create(t, "owner", { name: "peak", envId: env.id });
  for (const user of ["owner", "mia"]) {
    const problem = await assertProblem(
      await t.as(user).post("/api/captures", { name: "peak", envId: env.id }),
      409,
    );
    assert.match(problem.detail, /peak/);
  }
  assert.equal((await t.db.select().from(captures)).length, 1);
});

Deno.test("POST /api/captures accepts a name used in another environment", async () => {
  await using t = await testContext({ now: NOW });
  const first = await t.createEnvironment("owner");
  const second = await t.createEnvironment("owner");
  const a = await create(t, "owner", { name: "peak", envId: first.id });
  const b = await create(t, "owner", { name: "peak", envId: second.id });
  assert.notEqual(a.capture.id, b.capture.id);
  assert.equal(b.capture.envId, second.id);
});

Deno.test("POST /api/captures answers 404 for an environment the caller cannot see", async () => {
  await using t = await testContext({ now: NOW });
  const foreign = await t.createEnvironment("alice");
  await t.createEnvironment("bob");
  const hidden = await assertProblem(
    await t.as("bob").post("/api/captures", { name: "sneaky", envId: foreign.id }),
    404,
  );
  const missing = await assertProblem(
    await t.as("bob").post("/api/captures", { name: "sneaky", envId: 9999 }),
    404,
  );
  assert.equal(hidden.title, missing.title);
  assert.equal((await t.db.select().from(captures)).length, 0);
});

Deno.test("POST /api/captures answers 401 without a valid token, before validating", async () => {
  await using t = await testContext({ now: NOW });
  const env = await t.createEnvironment("owner");
  const anonymous = await t.as(null).post("/api/captures", { name: "x", envId: env.id });
  await assertProblem(anonymous, 401);
  assert.match(anonymous.headers.get("www-authenticate") ?? "", /^Bearer/);
  await assertProblem(await t.as(null).post("/api/captures", { bogus: 1 }), 401);
  const forged = await t.app.request("/api/captures", {
    method: "POST",
    headers: { Authorization: "Bearer not.a.jwt", "Content-Type": "application/json" },
    body: JSON.stringify({ name: "x", envId: env.id }),
  });
  await assertProblem(forged, 401);
  assert.equal((await t.db.select().from(captures)).length, 0);
});

/** insertCapture() for `ownerId` answers "not_member" and writes nothing. */
async function assertInsertRefused(t: TestContext, envId: number, ownerId: string) {
  const now = Date.parse(NOW);
  const result = await insertCapture(t.db, {
    envId,
    ownerId,
    name: "refused",
    status: "RUNNING",
    scheduledStart: null,
    start: now,
    end: null,
    duration: null,
    reason: null,
  }, now);
  assert.equal(result, "not_member");
  assert.equal((await t.db.select().from(captures)).length, 0);
}

Deno.test("insertCapture() refuses an environment deleted after the access check, not a 500", async () => {
  await using t = await testContext({ now: NOW });
  const env = await t.createEnvironment("owner");
  assert.equal((await t.as("owner").delete(`/api/environments/${env.id}`)).status, 204);
  await assertInsertRefused(t, env.id, "owner");
});

Deno.test("insertCapture() refuses an owner who is not (or no longer) a member", async () => {
  await using t = await testContext({ now: NOW });
  const env = await t.createEnvironment("owner");
  await t.addMember(env.id, "leaver", "member");
  assert.equal(
    (await t.as("leaver").delete(`/api/environments/${env.id}/members/leaver`)).status,
    204,
  );
  await assertInsertRefused(t, env.id, "leaver");
});

Deno.test("insertCapture() answers each capture exactly as stored, also when inserts commit together", async () => {
  await using t = await testContext({ now: NOW });
  const env = await t.createEnvironment("owner");
  const now = Date.parse(NOW);
  const kinds: Omit<NewCapture, "envId" | "ownerId" | "name">[] = [
    { status: "RUNNING", start: now, duration: 3600 },
    { status: "SCHEDULED", scheduledStart: now + HOUR },
    {
      status: "DONE",
      start: now - 2 * HOUR,
      end: now - HOUR,
      duration: 3600,
      snapshotNextAttemptAt: now,
    },
    { status: "RUNNING", start: now, reason: "kept as given" },
  ];
  // Sent at once: after the first, they commit together in one group (db/local_client.ts), so
  // each must still get its own id.
  const rows = await Promise.all(Array.from({ length: 20 }, (_, i) =>
    insertCapture(
      t.db,
      { envId: env.id, ownerId: "owner", name: `c-${i}`, ...kinds[i % kinds.length] },
      now + i,
      { perEnvironment: 100, runningPerEnvironment: 100 },
    )));
  const ids = new Set<number>();
  for (const row of rows) {
    assert.ok(typeof row === "object", String(row));
    ids.add(row.id);
    assert.deepEqual(row, await storedRow(t, row.id));
  }
  assert.equal(ids.size, 20);
});
