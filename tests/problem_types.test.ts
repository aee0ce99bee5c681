import assert from "node:assert/strict";
import openapi from "../openapi/openapi.json" with { type: "json" };
import { PROBLEM_KINDS, type ProblemKind } from "../openapi/problem_types.ts";
import { at, HOUR, NOW, postCapture } from "./helpers/captures.ts";
import { testContext } from "./helpers/context.ts";
import { assertProblem } from "./helpers/problem.ts";

Deno.test("a name clash and a wrong status, both 409, carry different problem types", async () => {
  await using t = await testContext({ now: NOW });
  const env = await t.createEnvironment("alice");
  const { capture } = await postCapture(t, "alice", {
    name: "peak",
    envId: env.id,
    duration: 3600,
  });
  const taken = await assertProblem(
    await t.as("alice").post("/api/captures", { name: "peak", envId: env.id }),
    409,
  );
  assert.equal(taken.type, "/problems/name-taken");
  t.clock.advance(2 * HOUR);
  const done = await assertProblem(
    await t.as("alice").post(`/api/captures/${capture.id}/stop`),
    409,
  );
  assert.equal(done.type, "/problems/invalid-state");
  const invalid = await assertProblem(
    await t.as("alice").post("/api/captures", { name: "", envId: env.id, start: at(0) }),
    400,
  );
  assert.equal(invalid.type, "/problems/validation");
  const anonymous = await assertProblem(await t.as(null).get("/api/captures"), 401);
  assert.equal(anonymous.type, "/problems/unauthenticated");
});

Deno.test("every problem type URI is answered with its explanation", async () => {
  await using t = await testContext();
  for (const kind of Object.keys(PROBLEM_KINDS) as ProblemKind[]) {
    const res = await t.app.request(`/problems/${kind}`);
    const text = await res.text();
    assert.equal(res.status, 200, `${kind}: ${text}`);
    assert.match(res.headers.get("content-type") ?? "", /^text\/plain/);
    assert.ok(text.includes(PROBLEM_KINDS[kind].explanation), kind);
    assert.ok(text.includes(`HTTP ${PROBLEM_KINDS[kind].status}`), kind);
  }
  const unknown = await assertProblem(await t.app.request("/problems/teapot"), 404);
  assert.equal(unknown.type, "/problems/not-found");
});

Deno.test("the contract gives each problem status the examples of its own kinds", () => {
  const examples = openapi.components.examples as Record<string, { value: { status: number } }>;
  const seen = new Map<string, Set<string>>();
  for (const [path, item] of Object.entries(openapi.paths)) {
    for (const [method, operation] of Object.entries(item as Record<string, unknown>)) {
      const responses = (operation as { responses: Record<string, unknown> }).responses;
      for (const [status, response] of Object.entries(responses)) {
        const media = (response as { content?: Record<string, { examples?: unknown }> })
          .content?.["application/problem+json"];
        if (!media) continue;
        const refs = Object.values(media.examples as Record<string, { $ref: string }> ?? {});
        assert.ok(refs.length > 0, `${method} ${path} ${status} has no example`);
        for (const { $ref } of refs) {
          const name = $ref.replace("#/components/examples/", "");
          assert.equal(String(examples[name].value.status), status, `${method} ${path} ${$ref}`);
          seen.set(status, (seen.get(status) ?? new Set()).add(name));
        }
      }
    }
  }
  assert.deepEqual(
    [...seen.get("409")!].sort(),
    [
      "problem-conflict",
      "problem-idempotency-in-progress",
      "problem-invalid-state",
      "problem-name-taken",
    ].filter((name) => name in examples).sort(),
  );
  assert.notDeepEqual(seen.get("400"), seen.get("404"));
});
