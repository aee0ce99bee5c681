// A body of thousands of unknown keys gets a small 400: errors[] lists 20 and counts the rest, and
// the detail names a few fields, not all of them (90,000 keys once made a 5.8 MB answer).
import assert from "node:assert/strict";
import { MAX_BODY_BYTES } from "../app.ts";
import { testContext } from "./helpers/context.ts";
import { assertProblem } from "./helpers/problem.ts";

Deno.test("POST /api/captures with 5,000 unknown keys near the body limit answers a 400 under 4 KB", async () => {
  await using t = await testContext();
  await using server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    t.app.fetch,
  );
  const env = await t.createEnvironment("alice");
  const body: Record<string, unknown> = { name: "big", envId: env.id, duration: 3600 };
  for (let i = 0; i < 5_000; i++) body[`k${String(i).padStart(5, "0")}`] = 0;
  const sent = JSON.stringify(body);
  assert.ok(sent.length > 50_000 && sent.length <= MAX_BODY_BYTES, String(sent.length));

  const res = await fetch(`http://127.0.0.1:${server.addr.port}/api/captures`, {
    method: "POST",
    headers: {
      Authorization: `Bearer ${await t.token("alice")}`,
      "Content-Type": "application/json",
    },
    body: sent,
  });
  const text = await res.clone().text();
  assert.ok(text.length < 4096, `the 400 is ${text.length} bytes`);
  const problem = await assertProblem(res, 400) as Awaited<ReturnType<typeof assertProblem>> & {
    moreErrors?: number;
  };
  assert.equal(problem.errors?.length, 20);
  assert.deepEqual(problem.errors?.[0], { path: "k00000", message: "Unknown field; remove it" });
  assert.equal(problem.moreErrors, 5_000 - 20);
  assert.equal(
    problem.detail,
    "Check k00000, k00001, k00002, k00003, k00004 and 4995 more fields",
  );
});

Deno.test("a problem clips a key as long as the body limit allows to a short path", async () => {
  await using t = await testContext();
  const env = await t.createEnvironment("alice");
  const key = "k".repeat(MAX_BODY_BYTES - 200);
  const res = await t.as("alice").post("/api/captures", {
    name: "big",
    envId: env.id,
    duration: 3600,
    [key]: 1,
  });
  const text = await res.clone().text();
  assert.ok(text.length < 2048, `the 400 is ${text.length} bytes`);
  const problem = await assertProblem(res, 400);
  assert.equal(problem.errors?.length, 1);
  assert.ok(problem.errors![0].path.length <= 200);
  assert.ok(key.startsWith(problem.errors![0].path.slice(0, -1)));
});

Deno.test("a problem with few errors lists them all and has no moreErrors", async () => {
  await using t = await testContext();
  const res = await t.as("alice").post("/api/captures", { name: "", duration: "x", extra: 1 });
  const problem = await assertProblem(res, 400) as Record<string, unknown>;
  assert.equal(problem.moreErrors, undefined);
  assert.deepEqual(
    [...new Set((problem.errors as { path: string }[]).map((e) => e.path))].sort(),
    ["duration", "envId", "extra", "name"].sort(),
  );
});
