/** Issue 17 review item 9: AWS error text names the server's principal: admins only see it. */
import assert from "node:assert/strict";
import { eq } from "drizzle-orm";
import { environments } from "../db/schema.ts";
import { testContext } from "./helpers/context.ts";

Deno.test("resolution.reason is shown to the environment's admins, null for members", async () => {
  await using t = await testContext();
  const { id } = await t.createEnvironment("owner");
  await t.addMember(id, "viewer");
  const reason = "User: arn:aws:iam::123456789012:user/capwatch-server is not authorized to " +
    "perform: rds:DescribeDBInstances";
  await t.db.update(environments).set({ resolutionReason: reason })
    .where(eq(environments.id, id));
  const admin = await (await t.as("owner").get(`/api/environments/${id}`)).json();
  assert.equal(admin.resolution.reason, reason);
  const member = await t.as("viewer").get(`/api/environments/${id}`);
  const text = await member.text();
  assert.equal(JSON.parse(text).resolution.reason, null);
  assert.ok(!text.includes("123456789012"), text);
  const listed = await (await t.as("viewer").get("/api/environments")).text();
  assert.ok(!listed.includes("123456789012"), listed);
});
