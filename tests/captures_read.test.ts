import assert from "node:assert/strict";
import { eq } from "drizzle-orm";
import { captures } from "../db/schema.ts";
import { type TestContext, testContext } from "./helpers/context.ts";
import { assertProblem } from "./helpers/problem.ts";
import { at, type CaptureBody, HOUR, MINUTE, NOW, postCapture } from "./helpers/captures.ts";

async function create(t: TestContext, user: string, body: Record<string, unknown>) {
  return (await postCapture(t, user, body)).capture;
}

/** GETs `path` as `user`, expecting 200; returns the captures and the rel="next" link. */
async function list(t: TestContext, user: string, path: string) {
  const res = await t.as(user).get(path);
  const text = await res.text();
  assert.equal(res.status, 200, text);
  const body = JSON.parse(text);
  assert.ok(Array.isArray(body), "the body is a JSON array");
  const link = res.headers.get("link");
  let next: string | undefined;
  if (link !== null) {
    const match = /^<([^>]+)>; rel="next"$/.exec(link);
    assert.ok(match, `Link header: ${link}`);
    next = match[1];
  }
  return { captures: body as CaptureBody[], next };
}

const ids = (list: CaptureBody[]) => list.map((c) => c.id);

Deno.test("GET /api/captures/{id} returns the capture to any member of its environment", async () => {
  await using t = await testContext({ now: NOW });
  const env = await t.createEnvironment("owner");
  await t.addMember(env.id, "mia", "member");
  const created = await create(t, "owner", { name: "peak", envId: env.id, duration: 600 });
  for (const user of ["owner", "mia"]) {
    const res = await t.as(user).get(`/api/captures/${created.id}`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), created);
  }
});

Deno.test("GET /api/captures/{id} answers 404 to a non-member, as for a missing capture", async () => {
  await using t = await testContext({ now: NOW });
  const env = await t.createEnvironment("owner");
  await t.createEnvironment("stranger");
  const created = await create(t, "owner", { name: "peak", envId: env.id });
  const hidden = await assertProblem(
    await t.as("stranger").get(`/api/captures/${created.id}`),
    404,
  );
  const missing = await assertProblem(await t.as("stranger").get("/api/captures/9999"), 404);
  assert.equal(hidden.title, missing.title);
  assert.doesNotMatch(hidden.detail, /peak/);
});

Deno.test("GET /api/captures/{id} answers 400 for an id that is not a positive integer", async () => {
  await using t = await testContext({ now: NOW });
  for (const id of ["abc", "0", "-1"]) {
    const problem = await assertProblem(await t.as("owner").get(`/api/captures/${id}`), 400);
    assert.equal(problem.errors?.[0].path, "id");
  }
});

Deno.test("GET /api/captures/{id} answers 401 without a valid token", async () => {
  await using t = await testContext({ now: NOW });
  const env = await t.createEnvironment("owner");
  const created = await create(t, "owner", { name: "peak", envId: env.id });
  const res = await t.as(null).get(`/api/captures/${created.id}`);
  await assertProblem(res, 401);
  assert.match(res.headers.get("www-authenticate") ?? "", /^Bearer/);
  await assertProblem(
    await t.as(null).get(`/api/captures/${created.id}`, { Authorization: "Bearer nope" }),
    401,
  );
});

Deno.test("GET /api/captures/{id} computes the status from the clock without a sweep", async () => {
  await using t = await testContext({ now: NOW });
  const env = await t.createEnvironment("owner");
  const created = await create(t, "owner", {
    name: "later",
    envId: env.id,
    scheduledStart: at(HOUR),
    duration: 600,
  });
  const read = async () => await (await t.as("owner").get(`/api/captures/${created.id}`)).json();
  t.clock.set(at(HOUR));
  assert.deepEqual(
    { status: "RUNNING", start: at(HOUR), end: null },
    (({ status, start, end }) => ({ status, start, end }))(await read()),
  );
  t.clock.set(at(HOUR + 10 * MINUTE));
  const done = await read();
  assert.equal(done.status, "DONE");
  assert.equal(done.end, at(HOUR + 10 * MINUTE));
  const [row] = await t.db.select().from(captures).where(eq(captures.id, created.id));
  assert.equal(row.status, "SCHEDULED", "nothing was persisted by the read");
});

Deno.test("GET /api/captures lists only captures of environments the caller belongs to", async () => {
  await using t = await testContext({ now: NOW });
  const a = await t.createEnvironment("alice");
  const b = await t.createEnvironment("bob");
  await t.addMember(a.id, "carol", "member", "alice");
  await t.addMember(b.id, "carol", "member", "bob");
  const a1 = await create(t, "alice", { name: "a1", envId: a.id });
  const b1 = await create(t, "bob", { name: "b1", envId: b.id });
  const a2 = await create(t, "carol", { name: "a2", envId: a.id });
  assert.deepEqual(ids((await list(t, "alice", "/api/captures")).captures), [a2.id, a1.id]);
  assert.deepEqual(ids((await list(t, "bob", "/api/captures")).captures), [b1.id]);
  assert.deepEqual(ids((await list(t, "carol", "/api/captures")).captures), [a2.id, b1.id, a1.id]);
  assert.deepEqual((await list(t, "dave", "/api/captures")).captures, []);
});

Deno.test("GET /api/captures lists newest first", async () => {
  await using t = await testContext({ now: NOW });
  const env = await t.createEnvironment("owner");
  const made: CaptureBody[] = [];
  for (let i = 0; i < 4; i++) {
    // A backfilled window is still newer than the captures created before it.
    const start = i === 3 ? { start: at(-24 * HOUR) } : {};
    made.push(await create(t, "owner", { name: `c${i}`, envId: env.id, ...start }));
    t.clock.advance(MINUTE);
  }
  const { captures: listed } = await list(t, "owner", "/api/captures");
  assert.deepEqual(ids(listed), ids(made).reverse());
  const created = listed.map((c) => Date.parse(c.createdAt));
  assert.deepEqual(created, [...created].sort((x, y) => y - x));
});

Deno.test("GET /api/captures?envId= filters by environment", async () => {
  await using t = await testContext({ now: NOW });
  const a = await t.createEnvironment("owner");
  const b = await t.createEnvironment("owner");
  const a1 = await create(t, "owner", { name: "same", envId: a.id });
  const b1 = await create(t, "owner", { name: "same", envId: b.id });
  const a2 = await create(t, "owner", { name: "other", envId: a.id });
  assert.deepEqual(ids((await list(t, "owner", `/api/captures?envId=${a.id}`)).captures), [
    a2.id,
    a1.id,
  ]);
  assert.deepEqual(ids((await list(t, "owner", `/api/captures?envId=${b.id}`)).captures), [b1.id]);
});

Deno.test("GET /api/captures?envId= answers 404 for an environment the caller cannot see", async () => {
  await using t = await testContext({ now: NOW });
  const foreign = await t.createEnvironment("alice");
  await create(t, "alice", { name: "secret", envId: foreign.id });
  const own = await t.createEnvironment("bob");
  await assertProblem(await t.as("bob").get(`/api/captures?envId=${foreign.id}`), 404);
  await assertProblem(await t.as("bob").get("/api/captures?envId=9999"), 404);
  // A bad cursor is a 400 only to a member: to anyone else the environment stays unseen.
  await assertProblem(await t.as("bob").get(`/api/captures?envId=${foreign.id}&cursor=x`), 404);
  await assertProblem(await t.as("bob").get(`/api/captures?envId=${own.id}&cursor=x`), 400);
  // A member's environment with no captures is an empty page, not a 404.
  assert.deepEqual((await list(t, "bob", `/api/captures?envId=${own.id}`)).captures, []);
  const problem = await assertProblem(await t.as("bob").get("/api/captures?envId=x"), 400);
  assert.equal(problem.errors?.[0].path, "envId");
});

Deno.test("GET /api/captures?name= filters by exact name", async () => {
  await using t = await testContext({ now: NOW });
  const a = await t.createEnvironment("owner");
  const b = await t.createEnvironment("owner");
  const exact = await create(t, "owner", { name: "peak", envId: a.id });
  await create(t, "owner", { name: "peak-2", envId: a.id });
  await create(t, "owner", { name: "Peak", envId: a.id });
  await create(t, "owner", { name: "pea", envId: a.id });
  const elsewhere = await create(t, "owner", { name: "peak", envId: b.id });
  assert.deepEqual(ids((await list(t, "owner", "/api/captures?name=peak")).captures), [
    elsewhere.id,
    exact.id,
  ]);
  assert.deepEqual(
    ids((await list(t, "owner", `/api/captures?envId=${a.id}&name=peak`)).captures),
    [exact.id],
  );
  assert.deepEqual((await list(t, "owner", "/api/captures?name=pe%25")).captures, []);
});

Deno.test("GET /api/captures?status= filters by the status computed now, repeatable", async () => {
  await using t = await testContext({ now: NOW });
  const env = await t.createEnvironment("owner");
  const running = await create(t, "owner", { name: "running", envId: env.id, duration: 3600 });
  const soon = await create(t, "owner", {
    name: "soon",
    envId: env.id,
    scheduledStart: at(30 * MINUTE),
    duration: 3600,
  });
  const later = await create(t, "owner", {
    name: "later",
    envId: env.id,
    scheduledStart: at(3 * HOUR),
  });
  const done = await create(t, "owner", {
    name: "done",
    envId: env.id,
    start: at(-2 * HOUR),
    duration: 600,
  });
  const byStatus = async (query: string) =>
    ids((await list(t, "owner", `/api/captures?${query}`)).captures);

  assert.deepEqual(await byStatus("status=RUNNING"), [running.id]);
  assert.deepEqual(await byStatus("status=SCHEDULED"), [later.id, soon.id]);

  // No sweep: "soon" is stored SCHEDULED but has started; "running" is past its end.
  t.clock.set(at(HOUR + MINUTE));
  assert.deepEqual(await byStatus("status=RUNNING"), [soon.id]);
  assert.deepEqual(await byStatus("status=SCHEDULED"), [later.id]);
  assert.deepEqual(await byStatus("status=RUNNING&status=SCHEDULED"), [later.id, soon.id]);
  assert.deepEqual(await byStatus("status=DONE"), [done.id, running.id]);
  assert.deepEqual(await byStatus("status=FAILED"), []);
  assert.deepEqual(await byStatus("status=DONE&status=SCHEDULED&status=RUNNING"), [
    done.id,
    later.id,
    soon.id,
    running.id,
  ]);
  const { captures: listed } = await list(t, "owner", "/api/captures?status=RUNNING");
  assert.equal(listed[0].status, "RUNNING");
  const stored = await t.db.select().from(captures).where(eq(captures.id, soon.id));
  assert.equal(stored[0].status, "SCHEDULED", "the filter read the clock, not a swept row");

  const problem = await assertProblem(await t.as("owner").get("/api/captures?status=running"), 400);
  assert.equal(problem.errors?.[0].path.split(".")[0], "status");
});

Deno.test("GET /api/captures answers 400 for a limit outside 1–200", async () => {
  await using t = await testContext({ now: NOW });
  const env = await t.createEnvironment("owner");
  await create(t, "owner", { name: "one", envId: env.id });
  for (const limit of ["0", "201", "-1", "1.5", "ten"]) {
    const problem = await assertProblem(
      await t.as("owner").get(`/api/captures?limit=${limit}`),
      400,
    );
    assert.deepEqual(problem.errors?.map((e) => e.path), ["limit"], `limit=${limit}`);
  }
  for (const limit of ["1", "200"]) {
    assert.equal((await list(t, "owner", `/api/captures?limit=${limit}`)).captures.length, 1);
  }
});

Deno.test("GET /api/captures answers 400 for a cursor it did not give out", async () => {
  await using t = await testContext({ now: NOW });
  await t.createEnvironment("owner");
  for (const cursor of ["garbage!", btoa("c1:abc"), btoa("42"), "x".repeat(65)]) {
    const problem = await assertProblem(
      await t.as("owner").get(`/api/captures?cursor=${encodeURIComponent(cursor)}`),
      400,
    );
    assert.deepEqual(problem.errors?.map((e) => e.path), ["cursor"], `cursor=${cursor}`);
  }
});

Deno.test("GET /api/captures pages 50 by default and links the next page", async () => {
  // 51 running captures in one environment: past the default running quota.
  await using t = await testContext({
    now: NOW,
    env: { QUOTA_RUNNING_CAPTURES_PER_ENVIRONMENT: "0" },
  });
  const env = await t.createEnvironment("owner");
  for (let i = 0; i < 51; i++) await create(t, "owner", { name: `c${i}`, envId: env.id });
  const first = await list(t, "owner", "/api/captures");
  assert.equal(first.captures.length, 50);
  assert.ok(first.next);
  const second = await list(t, "owner", first.next);
  assert.equal(second.captures.length, 1);
  assert.equal(second.next, undefined);
});

Deno.test("GET /api/captures pagination walks every capture once while new ones arrive", async () => {
  await using t = await testContext({ now: NOW });
  const env = await t.createEnvironment("owner");
  const other = await t.createEnvironment("owner");
  const existing: number[] = [];
  for (let i = 0; i < 8; i++) {
    existing.push((await create(t, "owner", { name: `c${i}`, envId: env.id })).id);
    await create(t, "owner", { name: `noise${i}`, envId: other.id });
  }
  const seen: number[] = [];
  const pageSizes: number[] = [];
  let next: string | undefined = `/api/captures?envId=${env.id}&limit=3`;
  let added = 0;
  while (next) {
    const page: { captures: CaptureBody[]; next?: string } = await list(t, "owner", next);
    assert.ok(page.captures.every((c) => c.envId === env.id), "the filter survives the cursor");
    seen.push(...ids(page.captures));
    pageSizes.push(page.captures.length);
    if (page.next) assert.match(page.next, /[?&]limit=3(&|$)/);
    next = page.next;
    // Someone creates a capture between page fetches.
    await create(t, "owner", { name: `new${added++}`, envId: env.id });
    assert.ok(added < 10, "pagination ends");
  }
  assert.deepEqual(seen, [...existing].reverse());
  assert.deepEqual(pageSizes, [3, 3, 2]);
});
