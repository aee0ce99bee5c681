import assert from "node:assert/strict";
import { type TestContext, testContext } from "./helpers/context.ts";
import { assertProblem } from "./helpers/problem.ts";

// Environments and members page like captures (issue 11 point 7): `limit`, an opaque `cursor`,
// and the next page's URL in `Link: <…>; rel="next"`.

/** Follows rel="next" from `path` as `user`; answers every page's items. */
async function walk<T>(t: TestContext, user: string, path: string): Promise<T[][]> {
  const pages: T[][] = [];
  let next: string | undefined = path;
  while (next !== undefined) {
    const res = await t.as(user).get(next);
    assert.equal(res.status, 200, `${next}: ${res.status}`);
    pages.push(await res.json());
    const link = res.headers.get("link");
    next = link === null ? undefined : /^<([^>]+)>; rel="next"$/.exec(link)?.[1];
    if (link !== null) assert.ok(next, `a Link header of the documented form: ${link}`);
    assert.ok(pages.length < 50, "the walk ends");
  }
  return pages;
}

Deno.test("GET /api/environments pages with limit, cursor and Link, oldest first, each once", async () => {
  await using t = await testContext();
  const ids: number[] = [];
  for (let i = 0; i < 5; i++) ids.push((await t.createEnvironment("alice")).id);
  await t.createEnvironment("bob"); // not alice's: never listed
  const pages = await walk<{ id: number }>(t, "alice", "/api/environments?limit=2");
  assert.deepEqual(pages.map((p) => p.length), [2, 2, 1]);
  assert.deepEqual(pages.flat().map((e) => e.id), ids);

  const exact = await walk<{ id: number }>(t, "alice", "/api/environments?limit=5");
  assert.deepEqual(exact.map((p) => p.length), [5], "no Link when nothing follows");
  const all = await t.as("alice").get("/api/environments");
  assert.equal((await all.json()).length, 5, "the default limit covers a short list");
  assert.equal(all.headers.get("link"), null);
});

Deno.test("GET /api/environments keeps the other query parameters in its Link", async () => {
  await using t = await testContext();
  for (let i = 0; i < 3; i++) await t.createEnvironment("alice");
  const res = await t.as("alice").get("/api/environments?limit=1");
  await res.body?.cancel();
  const link = res.headers.get("link") ?? "";
  assert.match(link, /^<\/api\/environments\?limit=1&cursor=[^>&]+>; rel="next"$/);
});

Deno.test("GET /api/environments and members answer 400 naming limit or cursor for bad values", async () => {
  await using t = await testContext();
  const env = await t.createEnvironment("alice");
  for (const base of ["/api/environments", `/api/environments/${env.id}/members`]) {
    for (const limit of ["0", "201", "x"]) {
      const problem = await assertProblem(await t.as("alice").get(`${base}?limit=${limit}`), 400);
      assert.deepEqual(problem.errors?.map((e) => e.path), ["limit"], `${base} limit=${limit}`);
    }
    const problem = await assertProblem(await t.as("alice").get(`${base}?cursor=bm9wZQ`), 400);
    assert.deepEqual(problem.errors?.map((e) => e.path), ["cursor"], base);
  }
});

Deno.test("a cursor of one list is refused by another", async () => {
  await using t = await testContext();
  const env = await t.createEnvironment("alice");
  await t.createEnvironment("alice");
  await t.addMember(env.id, "bob", "member", "alice");
  const envs = await t.as("alice").get("/api/environments?limit=1");
  await envs.body?.cancel();
  const envCursor = new URL(
    /<([^>]+)>/.exec(envs.headers.get("link")!)![1],
    "http://x",
  ).searchParams.get("cursor")!;
  const members = await t.as("alice").get(
    `/api/environments/${env.id}/members?cursor=${envCursor}`,
  );
  assert.deepEqual((await assertProblem(members, 400)).errors?.map((e) => e.path), ["cursor"]);
  const captures = await t.as("alice").get(`/api/captures?cursor=${envCursor}`);
  assert.deepEqual((await assertProblem(captures, 400)).errors?.map((e) => e.path), ["cursor"]);
});

Deno.test("GET /api/environments/{id}/members pages admins first, then by user id, each once", async () => {
  await using t = await testContext();
  const env = await t.createEnvironment("zoe");
  // Ids needing URL encoding and beyond ASCII ride in the cursor intact.
  for (const user of ["bob", "zoë", "a b", "amy@x.org"]) {
    await t.addMember(env.id, user, "member", "zoe");
  }
  await t.addMember(env.id, "carl", "admin", "zoe");
  const pages = await walk<{ userId: string; role: string }>(
    t,
    "bob",
    `/api/environments/${env.id}/members?limit=2`,
  );
  assert.deepEqual(pages.map((p) => p.length), [2, 2, 2]);
  assert.deepEqual(pages.flat().map((m) => [m.role, m.userId]), [
    ["admin", "carl"],
    ["admin", "zoe"],
    ["member", "a b"],
    ["member", "amy@x.org"],
    ["member", "bob"],
    ["member", "zoë"],
  ]);
});

Deno.test("GET /api/environments/{id}/members answers 404 to a non-member, cursor or not", async () => {
  await using t = await testContext();
  const env = await t.createEnvironment("alice");
  await t.addMember(env.id, "bob", "member", "alice");
  const first = await t.as("alice").get(`/api/environments/${env.id}/members?limit=1`);
  await first.body?.cancel();
  const next = /<([^>]+)>/.exec(first.headers.get("link")!)![1];
  await assertProblem(await t.as("carol").get(next), 404);
  await assertProblem(await t.as("carol").get(`/api/environments/${env.id}/members`), 404);
});
