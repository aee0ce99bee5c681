// The list's fast path (selected columns, prepared shapes, rows straight from the client) and the
// ISO formatter answer exactly what the plain path answered.
import assert from "node:assert/strict";
import fc from "../dev_deps/fast_check.ts";
import { isoTime } from "../iso_time.ts";
import { testContext } from "./helpers/context.ts";

const NOW = "2026-01-01T12:00:00Z";
const HOUR = 3_600_000;

Deno.test("isoTime writes what Date#toISOString writes, for any time", () => {
  fc.assert(
    fc.property(
      fc.oneof(
        fc.integer({ min: 0, max: 253_402_300_799_999 }),
        fc.integer({ min: -8.64e15, max: 8.64e15 }),
        fc.constantFrom(0, 86_399_999, 86_400_000, 951_782_400_000, 253_402_300_800_000),
      ),
      (ms) => assert.equal(isoTime(ms), new Date(ms).toISOString()),
    ),
    { numRuns: 5_000 },
  );
  assert.throws(() => isoTime(Number.NaN), RangeError);
  assert.equal(isoTime(1.5), new Date(1.5).toISOString());
});

Deno.test("every list shape gives each capture exactly as GET /api/captures/{id} does", async () => {
  await using t = await testContext({ now: NOW });
  const env = await t.createEnvironment("owner");
  const other = await t.createEnvironment("stranger");
  const at = (offset: number) => new Date(Date.parse(NOW) + offset).toISOString();
  const bodies = [
    { name: "running", start: at(-HOUR) },
    { name: "scheduled", scheduledStart: at(HOUR), duration: 600 },
    { name: "done", start: at(-2 * HOUR), duration: 60 },
    { name: "open-ended-later", scheduledStart: at(2 * HOUR) },
  ];
  for (const body of bodies) {
    const res = await t.as("owner").post("/api/captures", { envId: env.id, ...body });
    assert.equal(res.status, 201);
  }
  assert.equal(
    (await t.as("stranger").post("/api/captures", { envId: other.id, name: "theirs" })).status,
    201,
  );
  const stop = await t.as("owner").post("/api/captures/1/stop");
  assert.equal(stop.status, 200);
  t.clock.set(at(90_000));

  const read = async (path: string) => {
    const res = await t.as("owner").get(path);
    assert.equal(res.status, 200, path);
    return await res.json() as { id: number }[];
  };
  const ones = new Map<number, unknown>();
  for (const id of [1, 2, 3, 4]) {
    const res = await t.as("owner").get(`/api/captures/${id}`);
    ones.set(id, await res.json());
  }
  const shapes = [
    "/api/captures",
    "/api/captures?limit=2",
    `/api/captures?envId=${env.id}`,
    "/api/captures?status=DONE&status=RUNNING&status=SCHEDULED",
    "/api/captures?name=done",
  ];
  for (const path of shapes) {
    for (const capture of await read(path)) {
      assert.deepEqual(capture, ones.get(capture.id), `${path}: capture ${capture.id}`);
    }
  }
  // The prepared cursor shape: walking pages of one sees every capture once, newest first.
  const walked: number[] = [];
  let next: string | undefined = "/api/captures?limit=1";
  while (next) {
    const res = await t.as("owner").get(next);
    const page = await res.json() as { id: number }[];
    for (const capture of page) {
      assert.deepEqual(capture, ones.get(capture.id));
      walked.push(capture.id);
    }
    next = /<([^>]+)>; rel="next"/.exec(res.headers.get("Link") ?? "")?.[1];
  }
  assert.deepEqual(walked, [4, 3, 2, 1]);
  // Only the owner's environment: the stranger's capture (id 5) is in no shape.
  assert.deepEqual((await read("/api/captures")).map((c) => c.id), [4, 3, 2, 1]);
  assert.deepEqual((await t.as("stranger").get("/api/captures").then((r) => r.json())).length, 1);
});
