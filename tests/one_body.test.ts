// One capture's answer is made once per row object (routes/captures/_one_body.ts) and remembered
// until the capture's status may change: these hold it to what presenting the row afresh gives.
import assert from "node:assert/strict";
import fc from "../dev_deps/fast_check.ts";
import type { ListedCapture } from "../db/captures.ts";
import { captureETag } from "../operations/captures.ts";
import { captureAnswer } from "../routes/captures/_one_body.ts";
import { presentCapture } from "../routes/captures/_present.ts";
import { CAPTURE_STATUSES } from "../vocabulary.ts";
import { postCapture } from "./helpers/captures.ts";
import { testContext } from "./helpers/context.ts";

const T0 = Date.parse("2026-01-15T12:00:00Z");
const MIN = 60_000;

const maybeTime = fc.option(
  fc.integer({ min: -500, max: 500 }).map((m) => T0 + m * MIN + (m % 7) * 1000),
  { nil: null },
);

/** Any row the table can hold (every status, any mix of null and set times), frozen as a read cache keeps it. */
const storedCapture = fc.record({
  id: fc.integer({ min: 1, max: 1_000_000 }),
  envId: fc.integer({ min: 1, max: 100 }),
  ownerId: fc.constantFrom("owner", "mia"),
  name: fc.string({ minLength: 1, maxLength: 20 }),
  status: fc.constantFrom(...CAPTURE_STATUSES),
  scheduledStart: maybeTime,
  start: maybeTime,
  end: maybeTime,
  duration: fc.option(fc.integer({ min: 0, max: 40_000 }), { nil: null }),
  reason: fc.option(fc.string({ maxLength: 20 }), { nil: null }),
  createdAt: fc.constant(T0 - 600 * MIN),
  updatedAt: fc.constant(T0 - 600 * MIN),
  version: fc.integer({ min: 1, max: 50 }),
}).map((row) => Object.freeze(row as ListedCapture));

Deno.test("captureAnswer(): at every moment, a row's body and ETag as made afresh", () => {
  fc.assert(
    fc.property(
      storedCapture,
      fc.array(fc.integer({ min: -600, max: 600 }).map((m) => T0 + m * MIN), {
        minLength: 1,
        maxLength: 12,
      }),
      fc.boolean(),
      (row, times, sorted) => {
        // Mostly forward, as a clock runs; unsorted too (a clock set back, another process's now).
        for (const now of sorted ? times.toSorted((a, b) => a - b) : times) {
          // Twice each: the first may make it, the second may be the remembered one.
          for (let i = 0; i < 2; i++) {
            const answer = captureAnswer(row, now);
            assert.equal(answer.body, JSON.stringify(presentCapture(row, now)), `at ${now}`);
            assert.equal(answer.etag, captureETag(row, now), `at ${now}`);
          }
        }
      },
    ),
    { numRuns: 1000 },
  );
});

Deno.test("captureAnswer(): remembered for the same frozen row from its second request, never for another object", () => {
  const row = Object.freeze({
    id: 7,
    envId: 1,
    ownerId: "owner",
    name: "nightly",
    status: "SCHEDULED",
    scheduledStart: T0 + 60 * MIN,
    start: null,
    end: null,
    duration: 600,
    reason: null,
    createdAt: T0,
    updatedAt: T0,
    version: 1,
  } as ListedCapture);
  const first = captureAnswer(row, T0);
  const second = captureAnswer(row, T0 + MIN);
  assert.notEqual(second, first, "made again the second time, then remembered");
  assert.equal(captureAnswer(row, T0 + 2 * MIN), second);
  // A copy is another object: made afresh, whatever is remembered for the original.
  const copy = { ...row, name: "renamed" };
  assert.match(captureAnswer(copy, T0 + 2 * MIN).body, /renamed/);
  assert.match(captureAnswer(row, T0 + 2 * MIN).body, /nightly/);
  // An unfrozen row (not a read cache's) is never remembered.
  const loose = { ...row };
  captureAnswer(loose, T0);
  captureAnswer(loose, T0);
  assert.notEqual(captureAnswer(loose, T0), captureAnswer(loose, T0));
  // At the start the status changes, and so do the body and the ETag.
  const started = captureAnswer(row, T0 + 60 * MIN);
  assert.equal(JSON.parse(started.body).status, "RUNNING");
  assert.notEqual(started.etag, second.etag);
});

Deno.test("GET one capture: the status moves with the clock, and a write shows at once", async () => {
  const t = await testContext({ now: "2026-01-15T12:00:00Z" });
  await using _ = t;
  const env = await t.createEnvironment("owner");
  const { id } = (await postCapture(t, "owner", {
    envId: env.id,
    name: "later",
    scheduledStart: "2026-01-15T13:00:00Z",
    duration: 600,
  })).capture;
  const read = async (headers?: Record<string, string>) => {
    const res = await t.as("owner").get(`/api/captures/${id}`, headers);
    return { status: res.status, etag: res.headers.get("etag"), body: await res.text() };
  };
  const reads = [await read(), await read(), await read()];
  for (const r of reads) assert.deepEqual(r, reads[0]);
  assert.equal(JSON.parse(reads[0].body).status, "SCHEDULED");
  assert.equal((await read({ "If-None-Match": reads[0].etag! })).status, 304);

  const renamed = await t.as("owner").patch(`/api/captures/${id}`, { name: "renamed" }, {
    "If-Match": reads[0].etag!,
  });
  assert.equal(renamed.status, 200, await renamed.text());
  const edited = await read();
  assert.equal(JSON.parse(edited.body).name, "renamed");
  assert.notEqual(edited.etag, reads[0].etag);
  assert.equal((await read()).body, edited.body);

  t.clock.set("2026-01-15T13:00:00Z");
  const running = await read();
  assert.equal(JSON.parse(running.body).status, "RUNNING");
  assert.notEqual(running.etag, reads[0].etag);
  assert.equal((await read({ "If-None-Match": reads[0].etag! })).status, 200);
  assert.equal((await read({ "If-None-Match": running.etag! })).status, 304);

  t.clock.set("2026-01-15T13:10:00Z");
  assert.equal(JSON.parse((await read()).body).status, "DONE");
});
