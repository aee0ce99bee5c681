/** Whose data an environment may read with the server's own AWS identity (issue 17 point 1). */
import assert from "node:assert/strict";
import { instanceMatches } from "../auth/instance_policy.ts";
import { testContext } from "./helpers/context.ts";
import { assertProblem } from "./helpers/problem.ts";
import { envBody as env, OWN_KEYS, SERVER_KEYS } from "./helpers/instance_policy.ts";

const ROLE = "arn:aws:iam::123456789012:role/capwatch-reader";

Deno.test("POST /api/environments refuses server credentials on an unlisted instance, allows a role with an issued externalId", async () => {
  await using t = await testContext({
    env: { ...SERVER_KEYS, AWS_INSTANCE_ALLOWLIST: "orders-*,arn:aws:rds:eu-west-1:*:db:billing" },
  });
  // Someone else's database, read with the server's keys: refused, naming the fix.
  const refused = await t.as("mallory").post("/api/environments", env("theirs", "payroll-prod"));
  const body = await assertProblem(refused, 403);
  assert.match(body.detail, /AWS_INSTANCE_ALLOWLIST/);
  assert.match(body.detail, /roleArn without externalId \(capwatch issues one/);
  assert.deepEqual(body.errors?.map((e: { path: string }) => e.path), ["dbInstanceIdentifier"]);
  // An external id the caller picks proves nothing (it may be the victim's): limited as well.
  await assertProblem(
    await t.as("mallory").post(
      "/api/environments",
      env("role-own-xid", "payroll-prod", { roleArn: ROLE, externalId: "tenant-42" }),
    ),
    403,
  );
  // A role without one gets an external id capwatch generated, for its trust policy: not limited.
  const role = await t.as("mallory").post(
    "/api/environments",
    env("role", "payroll-prod", { roleArn: ROLE }),
  );
  assert.equal(role.status, 201, await role.clone().text());
  const { id: roleId, credentials } = await role.json();
  assert.match(credentials.externalId, /^capwatch-[0-9a-f]{32}$/);
  assert.equal(credentials.externalIdIssued, true);
  // Swapping in a chosen external id on the unlisted instance is refused like server keys.
  await assertProblem(
    await t.as("mallory").patch(`/api/environments/${roleId}`, {
      roleArn: ROLE,
      externalId: "tenant-42",
    }),
    403,
  );
  const own = await t.as("mallory").post(
    "/api/environments",
    env("own", "payroll-prod", { credentials: OWN_KEYS }),
  );
  assert.equal(own.status, 201, await own.text());
  // Listed instances (glob, or ARN with region) are open to server credentials.
  assert.equal((await t.as("alice").post("/api/environments", env("o", "orders-1"))).status, 201);
  const arn = await t.as("alice").post("/api/environments", {
    ...env("b", "billing"),
    region: "eu-west-1",
  });
  assert.equal(arn.status, 201);
  const wrongRegion = await t.as("alice").post("/api/environments", env("b2", "billing"));
  await assertProblem(wrongRegion, 403);
});

Deno.test("An allowed instance is bound once for server credentials; the 409 names no other environment", async () => {
  await using t = await testContext({
    env: { ...SERVER_KEYS, AWS_INSTANCE_ALLOWLIST: "orders-*" },
  });
  const first = await t.as("alice").post("/api/environments", env("alice-secret-name", "orders-1"));
  assert.equal(first.status, 201);
  const second = await t.as("bob").post("/api/environments", env("bobs", "orders-1"));
  const body = await assertProblem(second, 409);
  assert.ok(!body.detail.includes("alice-secret-name"), body.detail);
  assert.match(body.detail, /already bound/);
  // In another region it is another instance.
  const elsewhere = await t.as("bob").post("/api/environments", {
    ...env("bobs", "orders-1"),
    region: "us-west-2",
  });
  assert.equal(elsewhere.status, 201);
  // With its own keys bob may read orders-1 (his keys, his authority) ...
  const own = await t.as("bob").post(
    "/api/environments",
    env("bobs-own", "orders-1", { credentials: OWN_KEYS }),
  );
  assert.equal(own.status, 201);
  const { id } = await own.json();
  // ... but dropping them would bind it a second time to the server's credentials.
  const dropped = await t.as("bob").patch(`/api/environments/${id}`, { credentials: null });
  await assertProblem(dropped, 409);
  // An unlisted instance by PATCH is refused as on create.
  const moved = await t.as("bob").patch(`/api/environments/${id}`, {
    dbInstanceIdentifier: "payroll-prod",
    credentials: null,
  });
  await assertProblem(moved, 403);
  // Once alice's environment is gone, the instance is free again.
  const { id: aliceId } = await first.json();
  assert.equal((await t.as("alice").delete(`/api/environments/${aliceId}`)).status, 204);
  assert.equal(
    (await t.as("bob").patch(`/api/environments/${id}`, { credentials: null })).status,
    200,
  );
});

Deno.test("AWS_SERVER_CREDENTIAL_USERS may bind any instance with server credentials; others may not", async () => {
  await using t = await testContext({
    env: { ...SERVER_KEYS, AWS_SERVER_CREDENTIAL_USERS: "ops" },
  });
  assert.equal((await t.as("ops").post("/api/environments", env("a", "any-db"))).status, 201);
  await assertProblem(await t.as("dev").post("/api/environments", env("b", "other-db")), 403);
});

Deno.test("Without an allowlist server credentials stay open to all (the quick start)", async () => {
  await using t = await testContext({ env: SERVER_KEYS });
  assert.equal((await t.as("a").post("/api/environments", env("a", "shared-db"))).status, 201);
  assert.equal((await t.as("b").post("/api/environments", env("b", "shared-db"))).status, 201);
});

Deno.test("instanceMatches() reads identifier globs and RDS ARN patterns", () => {
  assert.ok(instanceMatches("orders-*", "us-east-1", "orders-7"));
  assert.ok(instanceMatches("orders-?", "us-east-1", "ORDERS-7"));
  assert.ok(!instanceMatches("orders-?", "us-east-1", "orders-17"));
  assert.ok(!instanceMatches("orders", "us-east-1", "orders-prod"));
  assert.ok(instanceMatches("arn:aws:rds:us-*:123456789012:db:a*", "us-west-2", "ab"));
  assert.ok(!instanceMatches("arn:aws:rds:us-*:123456789012:db:a*", "eu-west-1", "ab"));
  assert.ok(instanceMatches("arn:aws-cn:rds:*:*:db:x", "cn-north-1", "x"));
  assert.ok(!instanceMatches("arn:aws:rds:*:*:db:x", "cn-north-1", "x"));
  assert.ok(!instanceMatches("a.b", "us-east-1", "axb"), "a dot is a dot");
});
