// A list's JSON is made once per set of row objects (routes/captures/_list_body.ts) and remembered
// until any of its captures changes status (lifecycle/status.ts statusStableUntil): these hold the
// remembered body to what presenting the rows afresh gives.
import assert from "node:assert/strict";
import fc from "../dev_deps/fast_check.ts";
import { openDatabase } from "../db/client.ts";
import { captures } from "../db/schema.ts";
import { statusAt, statusStableUntil } from "../lifecycle/status.ts";
import * as operations from "../operations/captures.ts";
import {
  createListBodies,
  LIST_BODIES_BYTES,
  LIST_BODIES_KEPT,
} from "../routes/captures/_list_body.ts";
import { presentCapture } from "../routes/captures/_present.ts";
import { CAPTURE_STATUSES } from "../vocabulary.ts";
import { testContext } from "./helpers/context.ts";

const T0 = Date.parse("2026-01-15T12:00:00Z");
const MIN = 60_000;
const NOW = "2026-01-15T12:00:00Z";

const maybeTime = fc.option(
  fc.integer({ min: -5_000, max: 5_000 }).map((m) => T0 + m * MIN + (m % 7) * 1000),
  { nil: null },
);

/** Any row the table can hold: every status with any mix of null and set times. */
const storedCapture = fc.record({
  status: fc.constantFrom(...CAPTURE_STATUSES),
  scheduledStart: maybeTime,
  start: maybeTime,
  end: maybeTime,
  duration: fc.option(fc.integer({ min: 0, max: 400_000 }), { nil: null }),
});

Deno.test("statusStableUntil(): statusAt answers the same from now until then, and may change then", () => {
  fc.assert(
    fc.property(
      storedCapture,
      fc.integer({ min: -6_000, max: 6_000 }).map((m) => T0 + m * MIN),
      fc.double({ min: 0, max: 1, noNaN: true }),
      (row, now, fraction) => {
        const until = statusStableUntil(row, now);
        assert.ok(until > now);
        const at = statusAt(row, now);
        const last = Number.isFinite(until) ? until - 1 : now + 1e12;
        const between = now + Math.floor((last - now) * fraction);
        for (const t of [now, between, last]) assert.deepEqual(statusAt(row, t), at, `at ${t}`);
        if (Number.isFinite(until)) {
          assert.notDeepEqual(statusAt(row, until), at, "a boundary is a change");
        }
      },
    ),
    { numRuns: 2000 },
  );
});

/** A context with captures of each kind: done, running until +30 min, scheduled for +1 h. */
async function listed() {
  const t = await testContext({ now: NOW });
  const env = await t.createEnvironment("owner");
  await t.addMember(env.id, "mia");
  const post = (body: Record<string, unknown>) =>
    t.as("owner").post("/api/captures", { envId: env.id, ...body });
  await post({ name: "done", start: "2026-01-15T10:00:00Z", duration: 600 });
  await post({ name: "running", start: "2026-01-15T11:50:00Z", duration: 2400 });
  await post({ name: "later", scheduledStart: "2026-01-15T13:00:00Z", duration: 60 });
  const list = async (userId = "owner") => {
    const outcome = await operations.listCaptures(t.db, {
      userId,
      limit: 2,
      now: t.clock().getTime(),
    });
    assert.ok(outcome.ok);
    // Copies: the database's read cache hands out the same frozen rows while nothing changed, and
    // these tests need rows of their own (distinct per read, changeable behind the remembered body's back).
    return { ...outcome, page: outcome.page.map((row) => ({ ...row })) };
  };
  return { t, list };
}

const fresh = (page: Parameters<typeof presentCapture>[0][], now: number) =>
  JSON.stringify(page.map((row) => presentCapture(row, now)));

Deno.test("list bodies: the page presented, remembered for its row objects until a status changes", async () => {
  const { t, list } = await listed();
  await using _ = t;
  const bodies = createListBodies();
  const { page } = await list();
  assert.equal(page.length, 2);
  const now = t.clock().getTime();
  const body = bodies.body(page, now);
  assert.equal(body, fresh(page, now));
  const held = bodies.held().entries;
  // Remembered once the same rows come again, not the first time.
  assert.equal(bodies.body(page, now), body);
  assert.equal(bodies.held().entries, held + 1);
  assert.deepEqual(JSON.parse(body).map((c: { status: string }) => c.status), [
    "SCHEDULED",
    "RUNNING",
  ]);
  // Remembered: the rows changed behind its back (the app never changes a row it read) and the
  // body of the same objects did not, while no status can have changed; a copy of the page (the
  // same objects in a new array) finds it too.
  const renamed = page[0] as { name: string };
  renamed.name = "changed-in-memory";
  assert.equal(bodies.body(page, now + 10 * MIN), body);
  assert.equal(bodies.body([...page], now + 10 * MIN), body);
  // Other objects, fewer of them, or a clock before the first are never given it.
  const reread = (await list()).page;
  assert.equal(bodies.body(reread, now), fresh(reread, now));
  assert.equal(bodies.body([page[0]], now), fresh([page[0]], now));
  assert.match(bodies.body([page[0]], now), /changed-in-memory/);
  assert.match(bodies.body([page[0], reread[1]], now), /changed-in-memory/);
  assert.match(bodies.body(page, now - 1), /changed-in-memory/);
  assert.equal(bodies.body([], now), "[]");
});

Deno.test("list bodies: made again once a capture in it changes status", async () => {
  const { t, list } = await listed();
  await using _ = t;
  const bodies = createListBodies();
  const { page } = await list();
  const now = t.clock().getTime();
  bodies.body(page, now);
  const before = bodies.body(page, now);
  // The running capture ends at 12:30; the scheduled one starts at 13:00.
  for (const at of ["2026-01-15T12:29:59.999Z", "2026-01-15T12:30:00Z", "2026-01-15T13:00:00Z"]) {
    const later = Date.parse(at);
    assert.equal(bodies.body(page, later), fresh(page, later), at);
  }
  assert.equal(bodies.body(page, Date.parse("2026-01-15T12:29:00Z")), before);
  const statuses = (body: string) => JSON.parse(body).map((c: { status: string }) => c.status);
  assert.deepEqual(statuses(bodies.body(page, Date.parse("2026-01-15T13:00:00Z"))), [
    "RUNNING",
    "DONE",
  ]);
});

Deno.test("list bodies: keeps at most LIST_BODIES_KEPT bodies within LIST_BODIES_BYTES", async () => {
  const { t, list } = await listed();
  await using _ = t;
  const bodies = createListBodies();
  const now = t.clock().getTime();
  const pages = await Promise.all(
    Array.from({ length: LIST_BODIES_KEPT * 2 }, async () => (await list()).page),
  );
  for (const page of pages) {
    bodies.body(page, now);
    bodies.body(page, now);
    const { entries, bytes } = bodies.held();
    assert.ok(entries <= LIST_BODIES_KEPT, `${entries} entries`);
    assert.ok(bytes <= LIST_BODIES_BYTES, `${bytes} bytes`);
  }
  assert.equal(bodies.held().entries, LIST_BODIES_KEPT);
  // The oldest were forgotten: their rows are presented afresh (changed in memory, it shows).
  const oldest = pages[0];
  (oldest[0] as { name: string }).name = "changed-in-memory";
  assert.match(bodies.body(oldest, now), /changed-in-memory/);
  // The newest is still remembered.
  const newest = pages[pages.length - 1];
  const body = bodies.body(newest, now);
  (newest[0] as { name: string }).name = "changed-in-memory";
  assert.equal(bodies.body(newest, now), body);
});

Deno.test("GET /api/captures shows another connection's new and deleted captures at once", async () => {
  const { t } = await listed();
  await using _ = t;
  const other = await openDatabase(t.config.databaseUrl);
  try {
    const names = async () => {
      const res = await t.as("owner").get("/api/captures?limit=50");
      assert.equal(res.status, 200);
      return (await res.json()).map((c: { name: string }) => c.name);
    };
    assert.deepEqual(await names(), ["later", "running", "done"]);
    assert.deepEqual(await names(), ["later", "running", "done"]);
    const [first] = await other.db.select().from(captures).limit(1);
    await other.db.insert(captures).values({
      ...first,
      id: undefined,
      name: "elsewhere",
    });
    assert.deepEqual(await names(), ["elsewhere", "later", "running", "done"]);
    await other.db.delete(captures);
    assert.deepEqual(await names(), []);
  } finally {
    other.close();
  }
});

Deno.test("list bodies: remembered across requests: the read cache hands out the same rows", async () => {
  const { t } = await listed();
  await using _ = t;
  const bodies = createListBodies();
  const now = t.clock().getTime();
  const read = async () => {
    const outcome = await operations.listCaptures(t.db, { userId: "owner", limit: 2, now });
    assert.ok(outcome.ok);
    return outcome.page;
  };
  const first = await read();
  const second = await read();
  assert.equal(second[0], first[0], "the same row objects while nothing was written");
  const held = bodies.held().entries;
  const body = bodies.body(first, now);
  assert.equal(bodies.body(second, now), body);
  assert.equal(bodies.held().entries, held + 1);
  // A write makes the next read new rows, so the body is made again from them.
  await t.as("owner").post("/api/captures", {
    envId: (first[0] as { envId: number }).envId,
    name: "newest",
    scheduledStart: "2026-01-16T00:00:00Z",
    duration: 60,
  });
  const third = await read();
  assert.notEqual(third[0], first[0]);
  assert.match(bodies.body(third, now), /newest/);
});
