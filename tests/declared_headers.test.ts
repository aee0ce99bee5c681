// GET /api/captures/{id} checks its If-None-Match in the handler (http/router.ts
// checkDeclaredHeaders) instead of through @hono/zod-validator; GET /api/environments/{id} still
// uses the validator with the same schema. Their answers to the same headers must agree.
import assert from "node:assert/strict";
import { postCapture } from "./helpers/captures.ts";
import { testContext } from "./helpers/context.ts";

Deno.test("If-None-Match on GET one capture: refused exactly as the validator refuses it on GET one environment", async () => {
  const t = await testContext({ now: "2026-01-15T12:00:00Z" });
  await using _ = t;
  const env = await t.createEnvironment("owner");
  const { id } = (await postCapture(t, "owner", {
    envId: env.id,
    name: "nightly",
    scheduledStart: "2026-01-15T13:00:00Z",
    duration: 600,
  })).capture;
  /** Status and problem (without the per-request fields) of one GET. */
  const answer = async (user: string | null, path: string, headers: Record<string, string>) => {
    const res = await t.as(user).get(path, headers);
    const text = await res.text();
    if (res.status < 400) return { status: res.status };
    const { instance: _i, requestId: _r, ...problem } = JSON.parse(text);
    return { status: res.status, problem };
  };
  const cases: Array<[string, Record<string, string>]> = [
    ["longest kept", { "If-None-Match": '"' + "x".repeat(4094) + '"' }],
    ["one too long", { "If-None-Match": "x".repeat(4097) }],
    ["far too long", { "If-None-Match": "x".repeat(20_000) }],
    ["empty", { "If-None-Match": "" }],
    ["star", { "If-None-Match": "*" }],
    ["lower-case name, too long", { "if-none-match": "y".repeat(5000) }],
  ];
  for (const [name, headers] of cases) {
    const capture = await answer("owner", `/api/captures/${id}`, headers);
    const environment = await answer("owner", `/api/environments/${env.id}`, headers);
    assert.equal(capture.status, environment.status, name);
    assert.deepEqual(capture.problem, environment.problem, name);
  }
  const tooLong = await answer("owner", `/api/captures/${id}`, {
    "If-None-Match": "x".repeat(4097),
  });
  assert.equal(tooLong.status, 400);
  assert.deepEqual(tooLong.problem.errors.map((e: { path: string }) => e.path), ["If-None-Match"]);
  // The path is checked before the header, and the token before both, as by the validators.
  const bad = { "If-None-Match": "x".repeat(4097) };
  const badId = await answer("owner", "/api/captures/0", bad);
  assert.deepEqual(badId, await answer("owner", "/api/environments/0", bad));
  assert.deepEqual(badId.problem.errors.map((e: { path: string }) => e.path), ["id"]);
  assert.equal((await answer(null, "/api/captures/0", bad)).status, 401);
});
