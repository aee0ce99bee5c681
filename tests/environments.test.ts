import assert from "node:assert/strict";
import { testContext } from "./helpers/context.ts";
import { assertProblem } from "./helpers/problem.ts";

Deno.test("POST /api/environments makes the creator its first admin", async () => {
  await using t = await testContext();
  const res = await t.as("alice").post("/api/environments", {
    name: "production",
    region: "eu-west-1",
    dbInstanceIdentifier: "prod-mysql-1",
  });
  assert.equal(res.status, 201);
  const env = await res.json();
  assert.equal(res.headers.get("location"), `/api/environments/${env.id}`);
  assert.equal(env.role, "admin");
  assert.equal(env.ownerId, "alice");
  assert.deepEqual(env.credentials, { source: "none", accessKeyId: null });
  const members = await (await t.as("alice").get(`/api/environments/${env.id}/members`)).json();
  assert.deepEqual(members.map((m: { userId: string; role: string }) => [m.userId, m.role]), [
    ["alice", "admin"],
  ]);
});
