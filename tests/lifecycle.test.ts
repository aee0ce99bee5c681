import assert from "node:assert/strict";
import type { z } from "@hono/zod-openapi";
import { asc, eq } from "drizzle-orm";
import { effectiveStatusSql } from "../db/captures.ts";
import { openDatabase } from "../db/client.ts";
import { captures } from "../db/schema.ts";
import { type CaptureTimes, plannedEndOf, statusAt } from "../lifecycle/status.ts";
import { createSweeper } from "../lifecycle/sweeper.ts";
import { createLogger } from "../logger.ts";
import type { Capture } from "../openapi/schemas/capture.ts";
import { type TestContext, testContext } from "./helpers/context.ts";

type CaptureBody = z.infer<typeof Capture>;

const NOW = "2026-01-01T00:00:00Z";
const T0 = Date.parse(NOW);
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const at = (offsetMs: number) => new Date(T0 + offsetMs).toISOString();

async function create(t: TestContext, user: string, body: Record<string, unknown>) {
  const res = await t.as(user).post("/api/captures", body);
  const text = await res.text();
  assert.equal(res.status, 201, text);
  return JSON.parse(text) as CaptureBody;
}

async function read(t: TestContext, id: number) {
  const res = await t.as("owner").get(`/api/captures/${id}`);
  assert.equal(res.status, 200);
  return await res.json() as CaptureBody;
}

async function storedRow(t: TestContext, id: number) {
  const [row] = await t.db.select().from(captures).where(eq(captures.id, id));
  return row;
}

const sweeperFor = (t: TestContext, db = t.db) =>
  createSweeper({ db, clock: t.clock, logger: createLogger("error", () => {}) });

// ---- statusAt ---------------------------------------------------------------------------

const scheduled: CaptureTimes = {
  status: "SCHEDULED",
  scheduledStart: T0,
  start: null,
  end: null,
  duration: 600,
};

Deno.test("statusAt() keeps a capture SCHEDULED until the millisecond before its start", () => {
  assert.deepEqual(statusAt(scheduled, T0 - HOUR), { status: "SCHEDULED", start: null, end: null });
  assert.deepEqual(statusAt(scheduled, T0 - 1), { status: "SCHEDULED", start: null, end: null });
});

Deno.test("statusAt() makes a capture RUNNING from its scheduled start until its planned end", () => {
  assert.deepEqual(statusAt(scheduled, T0), { status: "RUNNING", start: T0, end: null });
  assert.deepEqual(statusAt(scheduled, T0 + 600_000 - 1), {
    status: "RUNNING",
    start: T0,
    end: null,
  });
});

Deno.test("statusAt() makes a capture DONE exactly at start + duration, ending then", () => {
  for (const now of [T0 + 600_000, T0 + 600_001, T0 + 365 * 24 * HOUR]) {
    assert.deepEqual(statusAt(scheduled, now), { status: "DONE", start: T0, end: T0 + 600_000 });
  }
  const running: CaptureTimes = {
    ...scheduled,
    status: "RUNNING",
    scheduledStart: null,
    start: T0,
  };
  assert.deepEqual(statusAt(running, T0 + 600_000 - 1), {
    status: "RUNNING",
    start: T0,
    end: null,
  });
  assert.deepEqual(statusAt(running, T0 + 600_000), {
    status: "DONE",
    start: T0,
    end: T0 + 600_000,
  });
});

Deno.test("statusAt() never ends an open-ended capture", () => {
  const open: CaptureTimes = { ...scheduled, duration: null };
  assert.equal(statusAt(open, T0 - 1).status, "SCHEDULED");
  const years = T0 + 10 * 365 * 24 * HOUR;
  assert.deepEqual(statusAt(open, years), { status: "RUNNING", start: T0, end: null });
  const running: CaptureTimes = { ...open, status: "RUNNING", scheduledStart: null, start: T0 };
  assert.deepEqual(statusAt(running, years), { status: "RUNNING", start: T0, end: null });
  assert.equal(plannedEndOf(open), null);
});

Deno.test("statusAt() keeps FAILED and DONE as stored, whatever the clock says", () => {
  const failed: CaptureTimes = {
    status: "FAILED",
    scheduledStart: T0 + HOUR,
    start: null,
    end: null,
    duration: 600,
  };
  for (const now of [T0, T0 + HOUR, T0 + 2 * HOUR]) {
    assert.deepEqual(statusAt(failed, now), { status: "FAILED", start: null, end: null });
  }
  const failedWhileRunning: CaptureTimes = { ...failed, start: T0, end: T0 + MINUTE };
  assert.deepEqual(statusAt(failedWhileRunning, T0 + 2 * HOUR), {
    status: "FAILED",
    start: T0,
    end: T0 + MINUTE,
  });
  // Stopped early: the stored end wins over the planned one.
  const stopped: CaptureTimes = {
    status: "DONE",
    scheduledStart: null,
    start: T0,
    end: T0 + MINUTE,
    duration: 3600,
  };
  assert.deepEqual(statusAt(stopped, T0 + 2 * MINUTE), {
    status: "DONE",
    start: T0,
    end: T0 + MINUTE,
  });
});

Deno.test("plannedEndOf() is start (or scheduledStart) + duration", () => {
  assert.equal(plannedEndOf(scheduled), T0 + 600_000);
  assert.equal(plannedEndOf({ ...scheduled, start: T0 + MINUTE }), T0 + MINUTE + 600_000);
});

Deno.test("effectiveStatusSql() agrees with statusAt() at every boundary", async () => {
  await using t = await testContext({ now: NOW });
  const env = await t.createEnvironment("owner");
  const shapes: CaptureTimes[] = [
    scheduled,
    { ...scheduled, duration: null },
    { status: "RUNNING", scheduledStart: null, start: T0, end: null, duration: 600 },
    { status: "RUNNING", scheduledStart: null, start: T0, end: null, duration: null },
    { status: "RUNNING", scheduledStart: T0 - MINUTE, start: T0, end: null, duration: 600 },
    { status: "DONE", scheduledStart: null, start: T0, end: T0 + MINUTE, duration: 600 },
    { status: "FAILED", scheduledStart: T0, start: null, end: null, duration: 600 },
    { status: "FAILED", scheduledStart: null, start: T0, end: null, duration: null },
  ];
  await t.db.insert(captures).values(shapes.map((shape, i) => ({
    ...shape,
    envId: env.id,
    ownerId: "owner",
    name: `shape-${i}`,
    createdAt: T0,
    updatedAt: T0,
  })));
  const moments = [-HOUR, -1, 0, 1, MINUTE, 600_000 - 1, 600_000, 600_001, 10 * HOUR];
  for (const offset of moments) {
    const now = T0 + offset;
    const rows = await t.db.select({ status: effectiveStatusSql(now) }).from(captures)
      .orderBy(asc(captures.id));
    assert.deepEqual(
      rows.map((r) => r.status),
      shapes.map((shape) => statusAt(shape, now).status),
      `at ${at(offset)}`,
    );
  }
});

// ---- sweeper ----------------------------------------------------------------------------

Deno.test("createSweeper().sweepOnce() persists SCHEDULED -> RUNNING -> DONE as the clock moves", async () => {
  await using t = await testContext({ now: NOW });
  const env = await t.createEnvironment("owner");
  const capture = await create(t, "owner", {
    name: "later",
    envId: env.id,
    scheduledStart: at(10 * MINUTE),
    duration: 600,
  });
  const sweeper = sweeperFor(t);

  t.clock.set(at(10 * MINUTE - 1));
  assert.deepEqual(await sweeper.sweepOnce(), {
    started: [],
    finished: [],
    failed: [],
    snapshots: { stored: 0, failed: 0 },
  });
  assert.equal((await storedRow(t, capture.id)).status, "SCHEDULED");

  t.clock.set(at(10 * MINUTE));
  const first = await sweeper.sweepOnce();
  assert.deepEqual([first.started, first.finished], [[capture.id], []]);
  let row = await storedRow(t, capture.id);
  assert.equal(row.status, "RUNNING");
  assert.equal(row.start, T0 + 10 * MINUTE);
  assert.equal(row.end, null);
  assert.equal(row.updatedAt, T0 + 10 * MINUTE);

  t.clock.set(at(20 * MINUTE - 1));
  assert.deepEqual((await sweeper.sweepOnce()).finished, []);

  t.clock.set(at(25 * MINUTE));
  const second = await sweeper.sweepOnce();
  assert.deepEqual([second.started, second.finished], [[], [capture.id]]);
  row = await storedRow(t, capture.id);
  assert.equal(row.status, "DONE");
  assert.equal(row.start, T0 + 10 * MINUTE);
  assert.equal(row.end, T0 + 20 * MINUTE, "it ended when planned, not when swept");

  const api = await read(t, capture.id);
  assert.equal(api.status, "DONE");
  assert.equal(api.end, at(20 * MINUTE));
});

Deno.test("createSweeper().sweepOnce() takes a capture whose whole window passed straight to DONE", async () => {
  await using t = await testContext({ now: NOW });
  const env = await t.createEnvironment("owner");
  const capture = await create(t, "owner", {
    name: "missed",
    envId: env.id,
    scheduledStart: at(HOUR),
    duration: 60,
  });
  const before = await read(t, capture.id);
  t.clock.set(at(5 * HOUR));
  const unswept = await read(t, capture.id);
  const result = await sweeperFor(t).sweepOnce();
  assert.deepEqual([result.started, result.finished], [[capture.id], [capture.id]]);
  const row = await storedRow(t, capture.id);
  assert.deepEqual([row.status, row.start, row.end], ["DONE", T0 + HOUR, T0 + HOUR + MINUTE]);
  const swept = await read(t, capture.id);
  assert.equal(before.status, "SCHEDULED");
  assert.deepEqual(
    { ...swept, updatedAt: unswept.updatedAt },
    unswept,
    "reads before and after the sweep agree",
  );
});

Deno.test("createSweeper().sweepOnce() is idempotent: a second sweep changes nothing", async () => {
  await using t = await testContext({ now: NOW });
  const env = await t.createEnvironment("owner");
  for (let i = 0; i < 5; i++) {
    await create(t, "owner", {
      name: `s${i}`,
      envId: env.id,
      scheduledStart: at((i + 1) * MINUTE),
      duration: 60 * (i + 1),
    });
    await create(t, "owner", { name: `r${i}`, envId: env.id, duration: 60 * (i + 1) });
  }
  t.clock.set(at(7 * MINUTE));
  const sweeper = sweeperFor(t);
  const first = await sweeper.sweepOnce();
  assert.ok(first.started.length > 0 && first.finished.length > 0);
  const snapshot = await t.db.select().from(captures).orderBy(asc(captures.id));
  t.clock.advance(1);
  const second = await sweeper.sweepOnce();
  assert.deepEqual([second.started, second.finished], [[], []]);
  assert.deepEqual(await t.db.select().from(captures).orderBy(asc(captures.id)), snapshot);
});

Deno.test("createSweeper().sweepOnce() leaves stopped, failed and open-ended captures alone", async () => {
  await using t = await testContext({ now: NOW });
  const env = await t.createEnvironment("owner");
  const stopped = await create(t, "owner", { name: "stopped", envId: env.id, duration: 600 });
  const open = await create(t, "owner", { name: "open", envId: env.id });
  const failed = await create(t, "owner", { name: "failed", envId: env.id, duration: 600 });
  t.clock.advance(MINUTE);
  assert.equal((await t.as("owner").post(`/api/captures/${stopped.id}/stop`)).status, 200);
  await t.db.update(captures).set({ status: "FAILED", reason: "agent crashed" })
    .where(eq(captures.id, failed.id));
  const before = await t.db.select().from(captures).orderBy(asc(captures.id));
  t.clock.advance(24 * HOUR);
  const result = await sweeperFor(t).sweepOnce();
  assert.deepEqual([result.started, result.finished], [[], []]);
  assert.deepEqual(await t.db.select().from(captures).orderBy(asc(captures.id)), before);
  assert.equal((await read(t, stopped.id)).end, at(MINUTE));
  assert.equal((await read(t, open.id)).status, "RUNNING");
  assert.equal((await read(t, failed.id)).status, "FAILED");
});

Deno.test("createSweeper().sweepOnce() from two sweepers on one database at once does no double work", async () => {
  // 30 overlapping windows: more than the running quota allows by default, which is not the point.
  await using t = await testContext({
    now: NOW,
    env: { QUOTA_RUNNING_CAPTURES_PER_ENVIRONMENT: "0" },
  });
  const env = await t.createEnvironment("owner");
  const made: number[] = [];
  for (let i = 0; i < 30; i++) {
    const capture = await create(t, "owner", {
      name: `s${i}`,
      envId: env.id,
      scheduledStart: at(MINUTE + i * 1000),
      duration: 60 + (i % 3) * 60,
    });
    made.push(capture.id);
  }
  // A second connection, as a second instance would have.
  const other = await openDatabase(`file:${t.dbPath}`);
  try {
    const a = sweeperFor(t);
    const b = sweeperFor(t, other.db);
    t.clock.set(at(3 * MINUTE + 15_000));
    const results = await Promise.all([a.sweepOnce(), b.sweepOnce(), a.sweepOnce()]);
    const started = results.flatMap((r) => r.started);
    const finished = results.flatMap((r) => r.finished);
    assert.deepEqual([...started].sort((x, y) => x - y), made, "each start persisted once");
    const due = (await t.db.select().from(captures)).filter((row) =>
      row.scheduledStart! + row.duration! * 1000 <= t.clock().getTime()
    ).map((row) => row.id);
    assert.ok(due.length > 0 && due.length < made.length, "some finished, some still run");
    assert.deepEqual([...finished].sort((x, y) => x - y), due, "each finish persisted once");
    const rows = await t.db.select().from(captures);
    for (const row of rows) {
      assert.equal(row.status, due.includes(row.id) ? "DONE" : "RUNNING");
      assert.equal(row.start, row.scheduledStart);
    }
    const again = await Promise.all([a.sweepOnce(), b.sweepOnce()]);
    assert.deepEqual(again.flatMap((r) => [...r.started, ...r.finished]), []);
  } finally {
    other.close();
  }
});

// ---- through the API --------------------------------------------------------------------

Deno.test("a backfilled capture is stored DONE at once, or RUNNING until its end", async () => {
  await using t = await testContext({ now: NOW });
  const env = await t.createEnvironment("owner");
  const done = await create(t, "owner", {
    name: "past",
    envId: env.id,
    start: at(-3 * HOUR),
    duration: 3600,
  });
  const running = await create(t, "owner", {
    name: "ongoing",
    envId: env.id,
    start: at(-30 * MINUTE),
    duration: 3600,
  });
  assert.deepEqual(
    [(await storedRow(t, done.id)).status, (await storedRow(t, running.id)).status],
    ["DONE", "RUNNING"],
  );
  const sweeper = sweeperFor(t);
  assert.deepEqual((await sweeper.sweepOnce()).finished, []);
  t.clock.set(at(30 * MINUTE));
  assert.deepEqual((await sweeper.sweepOnce()).finished, [running.id]);
  const row = await storedRow(t, running.id);
  assert.deepEqual([row.status, row.start, row.end], ["DONE", T0 - 30 * MINUTE, T0 + 30 * MINUTE]);
  assert.equal((await read(t, done.id)).end, at(-2 * HOUR));
});

Deno.test("a stopped capture keeps its stop time through later sweeps", async () => {
  await using t = await testContext({ now: NOW });
  const env = await t.createEnvironment("owner");
  const capture = await create(t, "owner", {
    name: "scheduled",
    envId: env.id,
    scheduledStart: at(MINUTE),
    duration: 3600,
  });
  t.clock.set(at(5 * MINUTE));
  const res = await t.as("owner").post(`/api/captures/${capture.id}/stop`);
  assert.equal(res.status, 200);
  t.clock.set(at(2 * HOUR));
  const result = await sweeperFor(t).sweepOnce();
  assert.deepEqual([result.started, result.finished], [[], []]);
  const row = await storedRow(t, capture.id);
  assert.deepEqual([row.status, row.start, row.end], ["DONE", T0 + MINUTE, T0 + 5 * MINUTE]);
});

Deno.test("editing the duration extends a RUNNING capture past its old end", async () => {
  await using t = await testContext({ now: NOW });
  const env = await t.createEnvironment("owner");
  const capture = await create(t, "owner", { name: "peak", envId: env.id, duration: 3600 });
  const sweeper = sweeperFor(t);
  t.clock.set(at(50 * MINUTE));
  const res = await t.as("owner").put(`/api/captures/${capture.id}`, { duration: 7200 });
  assert.equal(res.status, 200);
  t.clock.set(at(90 * MINUTE));
  assert.equal((await read(t, capture.id)).status, "RUNNING");
  assert.deepEqual((await sweeper.sweepOnce()).finished, []);
  assert.equal((await storedRow(t, capture.id)).status, "RUNNING");
  t.clock.set(at(2 * HOUR));
  assert.equal((await read(t, capture.id)).status, "DONE");
  assert.deepEqual((await sweeper.sweepOnce()).finished, [capture.id]);
  const row = await storedRow(t, capture.id);
  assert.deepEqual([row.status, row.end], ["DONE", T0 + 2 * HOUR]);
});

Deno.test("createSweeper().startTimer() sweeps on its own until stop() waits it out", async () => {
  await using t = await testContext({ now: NOW });
  const env = await t.createEnvironment("owner");
  const capture = await create(t, "owner", {
    name: "soon",
    envId: env.id,
    scheduledStart: at(MINUTE),
    duration: 600,
  });
  const sweeper = createSweeper({
    db: t.db,
    clock: t.clock,
    logger: createLogger("error", () => {}),
    intervalMs: 10,
  });
  t.clock.set(at(MINUTE));
  sweeper.startTimer();
  for (let i = 0; i < 200 && (await storedRow(t, capture.id)).status !== "RUNNING"; i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  await sweeper.stop();
  assert.equal((await storedRow(t, capture.id)).status, "RUNNING");

  // Stopped: moving past the end persists nothing more.
  t.clock.set(at(20 * MINUTE));
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal((await storedRow(t, capture.id)).status, "RUNNING");
});
