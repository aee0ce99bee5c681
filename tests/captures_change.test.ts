import assert from "node:assert/strict";
import { eq } from "drizzle-orm";
import { captures, captureSnapshots } from "../db/schema.ts";
import { deleteCapture, stopIfRunning, updateCaptureIfEditable } from "../db/captures.ts";
import { type TestContext, testContext } from "./helpers/context.ts";
import { assertProblem } from "./helpers/problem.ts";
import { at, type CaptureBody, HOUR, MINUTE, NOW, postCapture } from "./helpers/captures.ts";

async function create(t: TestContext, user: string, body: Record<string, unknown>) {
  return (await postCapture(t, user, body)).capture;
}

async function read(t: TestContext, user: string, id: number) {
  const res = await t.as(user).get(`/api/captures/${id}`);
  assert.equal(res.status, 200);
  return await res.json() as CaptureBody;
}

async function storedRow(t: TestContext, id: number) {
  const [row] = await t.db.select().from(captures).where(eq(captures.id, id));
  return row;
}

async function expectOk(res: Response, status = 200) {
  const text = await res.text();
  assert.equal(res.status, status, text);
  return (text ? JSON.parse(text) : null) as CaptureBody;
}

/**
 * An environment administered by "owner", with "admin" (a second admin), "mia" (a member who
 * owns the capture), "max" (another member) and "stranger" (in another environment only).
 */
async function cast(t: TestContext) {
  const env = await t.createEnvironment("owner");
  await t.addMember(env.id, "admin", "admin");
  await t.addMember(env.id, "mia", "member");
  await t.addMember(env.id, "max", "member");
  await t.createEnvironment("stranger");
  return env;
}

// ---- stop -------------------------------------------------------------------------------

Deno.test("POST /api/captures/{id}/stop lets the owner end a RUNNING capture now", async () => {
  await using t = await testContext({ now: NOW });
  const env = await cast(t);
  const capture = await create(t, "mia", { name: "peak", envId: env.id, duration: 3600 });
  t.clock.advance(10 * MINUTE);
  const stopped = await expectOk(await t.as("mia").post(`/api/captures/${capture.id}/stop`));
  assert.equal(stopped.status, "DONE");
  assert.equal(stopped.start, at(0));
  assert.equal(stopped.end, at(10 * MINUTE));
  assert.equal(stopped.duration, 600, "the actual length once DONE");
  assert.equal(stopped.updatedAt, at(10 * MINUTE));
  assert.deepEqual(await read(t, "mia", capture.id), stopped);
  const row = await storedRow(t, capture.id);
  assert.equal(row.status, "DONE");
  assert.equal(row.end, Date.parse(at(10 * MINUTE)));
  t.clock.advance(HOUR);
  assert.equal((await read(t, "mia", capture.id)).end, at(10 * MINUTE), "the end stays put");
});

Deno.test("POST /api/captures/{id}/stop lets an admin stop someone else's capture", async () => {
  await using t = await testContext({ now: NOW });
  const env = await cast(t);
  for (const admin of ["owner", "admin"]) {
    const capture = await create(t, "mia", { name: `by-${admin}`, envId: env.id });
    t.clock.advance(MINUTE);
    const stopped = await expectOk(await t.as(admin).post(`/api/captures/${capture.id}/stop`));
    assert.equal(stopped.status, "DONE");
    assert.equal(stopped.ownerId, "mia");
    assert.equal(stopped.end, t.clock().toISOString());
  }
});

Deno.test("POST /api/captures/{id}/stop answers 403 to a member who neither owns nor administers it", async () => {
  await using t = await testContext({ now: NOW });
  const env = await cast(t);
  const capture = await create(t, "mia", { name: "peak", envId: env.id });
  const problem = await assertProblem(
    await t.as("max").post(`/api/captures/${capture.id}/stop`),
    403,
  );
  assert.match(problem.detail, /owner|admin/);
  assert.equal((await storedRow(t, capture.id)).status, "RUNNING");
});

Deno.test("POST /api/captures/{id}/stop answers 404 to a non-member and 401 without a token", async () => {
  await using t = await testContext({ now: NOW });
  const env = await cast(t);
  const capture = await create(t, "mia", { name: "peak", envId: env.id });
  await assertProblem(await t.as("stranger").post(`/api/captures/${capture.id}/stop`), 404);
  await assertProblem(await t.as("mia").post("/api/captures/9999/stop"), 404);
  await assertProblem(await t.as(null).post(`/api/captures/${capture.id}/stop`), 401);
  assert.equal((await storedRow(t, capture.id)).status, "RUNNING");
});

Deno.test("POST /api/captures/{id}/stop answers 409 for a SCHEDULED capture, pointing at DELETE", async () => {
  await using t = await testContext({ now: NOW });
  const env = await cast(t);
  const capture = await create(t, "mia", {
    name: "later",
    envId: env.id,
    scheduledStart: at(HOUR),
  });
  const problem = await assertProblem(
    await t.as("mia").post(`/api/captures/${capture.id}/stop`),
    409,
  );
  assert.match(problem.detail, /SCHEDULED/);
  assert.match(problem.detail, /delete/i);
  assert.equal((await storedRow(t, capture.id)).status, "SCHEDULED");
});

Deno.test("POST /api/captures/{id}/stop answers 409 for a DONE capture", async () => {
  await using t = await testContext({ now: NOW });
  const env = await cast(t);
  const stopped = await create(t, "mia", { name: "stopped", envId: env.id });
  await expectOk(await t.as("mia").post(`/api/captures/${stopped.id}/stop`));
  const backfilled = await create(t, "mia", {
    name: "backfilled",
    envId: env.id,
    start: at(-2 * HOUR),
    duration: 600,
  });
  for (const { id } of [stopped, backfilled]) {
    const before = await storedRow(t, id);
    t.clock.advance(MINUTE);
    const problem = await assertProblem(await t.as("mia").post(`/api/captures/${id}/stop`), 409);
    assert.match(problem.detail, /DONE/);
    assert.deepEqual(await storedRow(t, id), before);
  }
});

Deno.test("POST /api/captures/{id}/stop answers 409 for a capture whose window ran out before a sweep", async () => {
  await using t = await testContext({ now: NOW });
  const env = await cast(t);
  const capture = await create(t, "mia", { name: "short", envId: env.id, duration: 600 });
  t.clock.advance(HOUR);
  const problem = await assertProblem(
    await t.as("mia").post(`/api/captures/${capture.id}/stop`),
    409,
  );
  assert.match(problem.detail, /DONE/);
  assert.equal((await read(t, "mia", capture.id)).end, at(10 * MINUTE));
});

Deno.test("POST /api/captures/{id}/stop answers 409 for a FAILED capture", async () => {
  await using t = await testContext({ now: NOW });
  const env = await cast(t);
  const capture = await create(t, "mia", { name: "broken", envId: env.id });
  await t.db.update(captures).set({ status: "FAILED", reason: "agent crashed" })
    .where(eq(captures.id, capture.id));
  const problem = await assertProblem(
    await t.as("mia").post(`/api/captures/${capture.id}/stop`),
    409,
  );
  assert.match(problem.detail, /FAILED/);
});

Deno.test("POST /api/captures/{id}/stop stops a SCHEDULED capture whose start has passed, without a sweep", async () => {
  await using t = await testContext({ now: NOW });
  const env = await cast(t);
  const capture = await create(t, "mia", {
    name: "started-unswept",
    envId: env.id,
    scheduledStart: at(HOUR),
    duration: 7200,
  });
  t.clock.set(at(HOUR + 15 * MINUTE));
  assert.equal((await storedRow(t, capture.id)).status, "SCHEDULED");
  const stopped = await expectOk(await t.as("mia").post(`/api/captures/${capture.id}/stop`));
  assert.equal(stopped.status, "DONE");
  assert.equal(stopped.start, at(HOUR));
  assert.equal(stopped.end, at(HOUR + 15 * MINUTE));
  assert.equal(stopped.duration, 900);
  const row = await storedRow(t, capture.id);
  assert.equal(row.status, "DONE");
  assert.equal(row.start, Date.parse(at(HOUR)));
});

// ---- edit -------------------------------------------------------------------------------

for (const method of ["put", "patch"] as const) {
  const verb = method.toUpperCase();

  Deno.test(`${verb} /api/captures/{id} renames a capture in any status`, async () => {
    await using t = await testContext({ now: NOW });
    const env = await cast(t);
    const running = await create(t, "mia", { name: "running", envId: env.id });
    const scheduled = await create(t, "mia", {
      name: "scheduled",
      envId: env.id,
      scheduledStart: at(HOUR),
    });
    const done = await create(t, "mia", {
      name: "done",
      envId: env.id,
      start: at(-HOUR),
      duration: 60,
    });
    t.clock.advance(MINUTE);
    for (const capture of [running, scheduled, done]) {
      const edited = await expectOk(
        await t.as("mia")[method](`/api/captures/${capture.id}`, { name: `${capture.name}-2` }),
      );
      assert.deepEqual(edited, {
        ...capture,
        name: `${capture.name}-2`,
        updatedAt: at(MINUTE),
      });
      assert.deepEqual(await read(t, "mia", capture.id), edited);
    }
  });

  Deno.test(`${verb} /api/captures/{id} answers 409 for a name taken in the same environment`, async () => {
    await using t = await testContext({ now: NOW });
    const env = await cast(t);
    const other = await t.createEnvironment("mia");
    await create(t, "mia", { name: "taken", envId: env.id });
    await create(t, "mia", { name: "elsewhere", envId: other.id });
    const capture = await create(t, "mia", { name: "mine", envId: env.id });
    const problem = await assertProblem(
      await t.as("mia")[method](`/api/captures/${capture.id}`, { name: "taken" }),
      409,
    );
    assert.match(problem.detail, /taken/);
    assert.equal((await storedRow(t, capture.id)).name, "mine");
    const renamed = await expectOk(
      await t.as("mia")[method](`/api/captures/${capture.id}`, { name: "elsewhere" }),
    );
    assert.equal(renamed.name, "elsewhere");
    const same = await expectOk(
      await t.as("mia")[method](`/api/captures/${capture.id}`, { name: "elsewhere" }),
    );
    assert.equal(same.name, "elsewhere", "keeping its own name is no clash");
  });

  Deno.test(`${verb} /api/captures/{id} answers 400 for an empty or invalid body`, async () => {
    await using t = await testContext({ now: NOW });
    const env = await cast(t);
    const capture = await create(t, "mia", {
      name: "peak",
      envId: env.id,
      scheduledStart: at(HOUR),
      duration: 600,
    });
    const cases: [unknown, string][] = [
      [{}, "body"],
      [{ name: "" }, "name"],
      [{ name: "x".repeat(101) }, "name"],
      [{ duration: 59 }, "duration"],
      [{ duration: 90.5 }, "duration"],
      [{ scheduledStart: "tomorrow" }, "scheduledStart"],
      [{ status: "DONE" }, "status"],
      [{ envId: env.id }, "envId"],
    ];
    for (const [body, path] of cases) {
      const problem = await assertProblem(
        await t.as("mia")[method](`/api/captures/${capture.id}`, body),
        400,
      );
      const paths = problem.errors?.map((e) => e.path) ?? [];
      assert.ok(paths.includes(path), `${JSON.stringify(body)}: ${JSON.stringify(paths)}`);
    }
    assert.deepEqual(await read(t, "mia", capture.id), capture);
  });
}

Deno.test("PUT /api/captures/{id} moves scheduledStart while SCHEDULED", async () => {
  await using t = await testContext({ now: NOW });
  const env = await cast(t);
  const capture = await create(t, "mia", {
    name: "later",
    envId: env.id,
    scheduledStart: at(HOUR),
    duration: 600,
  });
  const moved = await expectOk(
    await t.as("mia").put(`/api/captures/${capture.id}`, { scheduledStart: at(3 * HOUR) }),
  );
  assert.equal(moved.status, "SCHEDULED");
  assert.equal(moved.scheduledStart, at(3 * HOUR));
  assert.equal(moved.scheduledEnd, at(3 * HOUR + 10 * MINUTE));
  t.clock.set(at(HOUR + MINUTE));
  assert.equal((await read(t, "mia", capture.id)).status, "SCHEDULED", "the old time is gone");
  const sooner = await expectOk(
    await t.as("mia").put(`/api/captures/${capture.id}`, {
      scheduledStart: at(2 * HOUR),
      duration: 1200,
    }),
  );
  assert.equal(sooner.scheduledEnd, at(2 * HOUR + 20 * MINUTE));
});

Deno.test("PUT /api/captures/{id} answers 400 for a scheduledStart that is not in the future", async () => {
  await using t = await testContext({ now: NOW });
  const env = await cast(t);
  const capture = await create(t, "mia", {
    name: "later",
    envId: env.id,
    scheduledStart: at(HOUR),
  });
  for (const scheduledStart of [at(-MINUTE), at(0)]) {
    const problem = await assertProblem(
      await t.as("mia").put(`/api/captures/${capture.id}`, { scheduledStart }),
      400,
    );
    assert.deepEqual(problem.errors?.map((e) => e.path), ["scheduledStart"]);
  }
  assert.equal((await read(t, "mia", capture.id)).scheduledStart, at(HOUR));
});

Deno.test("PUT /api/captures/{id} answers 409 for scheduledStart once the capture is not SCHEDULED", async () => {
  await using t = await testContext({ now: NOW });
  const env = await cast(t);
  const running = await create(t, "mia", { name: "running", envId: env.id });
  const done = await create(t, "mia", {
    name: "done",
    envId: env.id,
    start: at(-HOUR),
    duration: 60,
  });
  const startedUnswept = await create(t, "mia", {
    name: "started",
    envId: env.id,
    scheduledStart: at(MINUTE),
  });
  t.clock.advance(2 * MINUTE);
  for (const capture of [running, done, startedUnswept]) {
    const before = await storedRow(t, capture.id);
    const problem = await assertProblem(
      await t.as("mia").put(`/api/captures/${capture.id}`, { scheduledStart: at(HOUR) }),
      409,
    );
    assert.match(problem.detail, /SCHEDULED/);
    assert.deepEqual(await storedRow(t, capture.id), before);
  }
});

Deno.test("PUT /api/captures/{id} changes the duration of a RUNNING capture", async () => {
  await using t = await testContext({ now: NOW });
  const env = await cast(t);
  const capture = await create(t, "mia", { name: "peak", envId: env.id, duration: 3600 });
  t.clock.advance(50 * MINUTE);
  const longer = await expectOk(
    await t.as("mia").put(`/api/captures/${capture.id}`, { duration: 7200 }),
  );
  assert.equal(longer.status, "RUNNING");
  assert.equal(longer.duration, 7200);
  assert.equal(longer.scheduledEnd, at(2 * HOUR));
  const shorter = await expectOk(
    await t.as("mia").put(`/api/captures/${capture.id}`, { duration: 3060 }),
  );
  assert.equal(shorter.scheduledEnd, at(51 * MINUTE));
  const open = await create(t, "mia", { name: "open", envId: env.id });
  const bounded = await expectOk(
    await t.as("mia").put(`/api/captures/${open.id}`, { duration: 600 }),
  );
  assert.equal(bounded.scheduledEnd, at(60 * MINUTE));
});

Deno.test("PUT /api/captures/{id} changes the duration of a SCHEDULED capture", async () => {
  await using t = await testContext({ now: NOW });
  const env = await cast(t);
  const capture = await create(t, "mia", {
    name: "later",
    envId: env.id,
    scheduledStart: at(HOUR),
    duration: 600,
  });
  const edited = await expectOk(
    await t.as("mia").put(`/api/captures/${capture.id}`, { duration: 60 }),
  );
  assert.equal(edited.status, "SCHEDULED");
  assert.equal(edited.scheduledEnd, at(HOUR + MINUTE));
});

Deno.test("PUT /api/captures/{id} answers 400 for a duration that would end in the past", async () => {
  await using t = await testContext({ now: NOW });
  const env = await cast(t);
  const capture = await create(t, "mia", {
    name: "backfilled",
    envId: env.id,
    start: at(-2 * HOUR),
    duration: 3 * 3600,
  });
  for (const duration of [3600, 7200]) {
    const problem = await assertProblem(
      await t.as("mia").put(`/api/captures/${capture.id}`, { duration }),
      400,
    );
    assert.deepEqual(problem.errors?.map((e) => e.path), ["duration"]);
    assert.match(problem.errors![0].message, /7201/);
  }
  assert.equal((await storedRow(t, capture.id)).duration, 3 * 3600);
  const edited = await expectOk(
    await t.as("mia").put(`/api/captures/${capture.id}`, { duration: 7201 }),
  );
  assert.equal(edited.status, "RUNNING");
});

Deno.test("PUT /api/captures/{id} answers 409 for a duration once the capture is DONE", async () => {
  await using t = await testContext({ now: NOW });
  const env = await cast(t);
  const stopped = await create(t, "mia", { name: "stopped", envId: env.id, duration: 600 });
  t.clock.advance(MINUTE);
  await expectOk(await t.as("mia").post(`/api/captures/${stopped.id}/stop`));
  const ranOut = await create(t, "mia", { name: "ran-out", envId: env.id, duration: 60 });
  t.clock.advance(2 * MINUTE);
  for (const capture of [stopped, ranOut]) {
    const before = await storedRow(t, capture.id);
    const problem = await assertProblem(
      await t.as("mia").put(`/api/captures/${capture.id}`, { duration: 86400 }),
      409,
    );
    assert.match(problem.detail, /DONE/);
    assert.deepEqual(await storedRow(t, capture.id), before);
  }
});

Deno.test("PUT /api/captures/{id} is allowed to the owner and admins, 403 to other members, 404 to strangers", async () => {
  await using t = await testContext({ now: NOW });
  const env = await cast(t);
  const capture = await create(t, "mia", { name: "peak", envId: env.id });
  for (const user of ["mia", "owner", "admin"]) {
    const edited = await expectOk(
      await t.as(user).put(`/api/captures/${capture.id}`, { name: `by-${user}` }),
    );
    assert.equal(edited.name, `by-${user}`);
    assert.equal(edited.ownerId, "mia", "editing does not change the owner");
  }
  for (const method of ["put", "patch"] as const) {
    await assertProblem(
      await t.as("max")[method](`/api/captures/${capture.id}`, { name: "hijack" }),
      403,
    );
    await assertProblem(
      await t.as("stranger")[method](`/api/captures/${capture.id}`, { name: "hijack" }),
      404,
    );
    await assertProblem(
      await t.as(null)[method](`/api/captures/${capture.id}`, { name: "hijack" }),
      401,
    );
    await assertProblem(await t.as("mia")[method]("/api/captures/9999", { name: "x" }), 404);
  }
  assert.equal((await storedRow(t, capture.id)).name, "by-admin");
});

// ---- delete -----------------------------------------------------------------------------

async function insertSnapshot(t: TestContext, captureId: number) {
  await t.db.insert(captureSnapshots).values({
    captureId,
    period: 60,
    start: Date.parse(at(-HOUR)),
    end: Date.parse(at(0)),
    takenAt: Date.parse(at(0)),
  });
}

const snapshotOf = async (t: TestContext, captureId: number) =>
  await t.db.select().from(captureSnapshots).where(eq(captureSnapshots.captureId, captureId));

Deno.test("DELETE /api/captures/{id} deletes a capture in any status", async () => {
  await using t = await testContext({ now: NOW });
  const env = await cast(t);
  const running = await create(t, "mia", { name: "running", envId: env.id, duration: 3600 });
  const scheduled = await create(t, "mia", {
    name: "scheduled",
    envId: env.id,
    scheduledStart: at(HOUR),
  });
  const done = await create(t, "mia", {
    name: "done",
    envId: env.id,
    start: at(-HOUR),
    duration: 600,
  });
  const failed = await create(t, "mia", { name: "failed", envId: env.id });
  await t.db.update(captures).set({ status: "FAILED", reason: "boom" })
    .where(eq(captures.id, failed.id));
  for (const capture of [running, scheduled, done, failed]) {
    const res = await t.as("mia").delete(`/api/captures/${capture.id}`);
    assert.equal(res.status, 204);
    assert.equal(await res.text(), "");
    await assertProblem(await t.as("mia").get(`/api/captures/${capture.id}`), 404);
    await assertProblem(await t.as("mia").delete(`/api/captures/${capture.id}`), 404);
    assert.equal(await storedRow(t, capture.id), undefined);
  }
  // The name is free again.
  await create(t, "mia", { name: "running", envId: env.id });
});

Deno.test("DELETE /api/captures/{id} removes its stored snapshot, and only its own", async () => {
  await using t = await testContext({ now: NOW });
  const env = await cast(t);
  const doomed = await create(t, "mia", {
    name: "doomed",
    envId: env.id,
    start: at(-HOUR),
    duration: 600,
  });
  const kept = await create(t, "mia", {
    name: "kept",
    envId: env.id,
    start: at(-HOUR),
    duration: 900,
  });
  await insertSnapshot(t, doomed.id);
  await insertSnapshot(t, kept.id);
  assert.equal((await snapshotOf(t, doomed.id)).length, 1);
  const res = await t.as("mia").delete(`/api/captures/${doomed.id}`);
  assert.equal(res.status, 204);
  assert.deepEqual(await snapshotOf(t, doomed.id), []);
  assert.equal((await snapshotOf(t, kept.id)).length, 1);
  assert.equal((await read(t, "mia", kept.id)).name, "kept");
});

Deno.test("DELETE /api/captures/{id} is allowed to the owner and admins, 403 to other members, 404 to strangers", async () => {
  await using t = await testContext({ now: NOW });
  const env = await cast(t);
  const byOwner = await create(t, "mia", { name: "a", envId: env.id });
  const byEnvOwner = await create(t, "mia", { name: "b", envId: env.id });
  const byAdmin = await create(t, "mia", { name: "c", envId: env.id });
  await insertSnapshot(t, byOwner.id);

  await assertProblem(await t.as("max").delete(`/api/captures/${byOwner.id}`), 403);
  await assertProblem(await t.as("stranger").delete(`/api/captures/${byOwner.id}`), 404);
  await assertProblem(await t.as(null).delete(`/api/captures/${byOwner.id}`), 401);
  assert.ok(await storedRow(t, byOwner.id), "still there after the refusals");
  assert.equal((await snapshotOf(t, byOwner.id)).length, 1, "its snapshot too");

  const deleters = [
    { user: "mia", id: byOwner.id },
    { user: "owner", id: byEnvOwner.id },
    { user: "admin", id: byAdmin.id },
  ];
  for (const { user, id } of deleters) {
    const res = await t.as(user).delete(`/api/captures/${id}`);
    assert.equal(res.status, 204, `${user} deletes`);
    await assertProblem(await t.as(user).delete(`/api/captures/${id}`), 404);
  }
  assert.deepEqual(await snapshotOf(t, byOwner.id), []);
});

Deno.test("PUT /api/captures/{id} with only an unknown field names just that field", async () => {
  await using t = await testContext({ now: NOW });
  const env = await t.createEnvironment("owner");
  const created = await (await t.as("owner").post("/api/captures", { name: "a", envId: env.id }))
    .json();
  const body = await assertProblem(
    await t.as("owner").put(`/api/captures/${created.id}`, { bogus: 1 }),
    400,
  );
  assert.deepEqual(body.errors?.map((e) => e.path), ["bogus"]);
});

Deno.test("stopIfRunning(), updateCaptureIfEditable() and deleteCapture() refuse a caller who lost the right", async () => {
  await using t = await testContext({ now: NOW });
  const env = await cast(t);
  const capture = await create(t, "mia", { name: "guarded", envId: env.id });
  // The handler's checks have passed; then the admin is demoted before the write lands.
  await t.addMember(env.id, "admin", "member");
  const now = Date.parse(NOW);
  assert.equal(await stopIfRunning(t.db, capture.id, "admin", now), undefined);
  assert.equal(
    await updateCaptureIfEditable(t.db, capture.id, "admin", { name: "x" }, now),
    undefined,
  );
  assert.equal(await deleteCapture(t.db, capture.id, "admin"), false);
  const [row] = await t.db.select().from(captures).where(eq(captures.id, capture.id));
  assert.equal(row.status, "RUNNING");
  assert.equal(row.name, "guarded");
  // The owner still may.
  assert.equal((await stopIfRunning(t.db, capture.id, "mia", now))?.status, "DONE");
  assert.equal(await deleteCapture(t.db, capture.id, "mia"), true);
});
