import assert from "node:assert/strict";
import { eq } from "drizzle-orm";
import { findEnvironment } from "../db/environments.ts";
import { environments } from "../db/schema.ts";
import { testContext } from "./helpers/context.ts";

Deno.test("findEnvironment answers the row drizzle's select gives, keys in the same order", async () => {
  await using t = await testContext();
  const env = await t.createEnvironment("owner");
  const variants = [
    { piEnabled: null, externalIdIssued: false },
    { piEnabled: true, externalIdIssued: true, resolvedAt: 1_700_000_000_000 },
    { piEnabled: false, externalIdIssued: false, piRetentionDays: 7, engine: "postgres" },
  ];
  for (const variant of variants) {
    await t.db.update(environments).set(variant).where(eq(environments.id, env.id));
    const [expected] = await t.db.select().from(environments).where(eq(environments.id, env.id));
    const found = await findEnvironment(t.db, env.id);
    assert.deepEqual(found, expected);
    assert.deepEqual(Object.keys(found!), Object.keys(expected));
  }
  assert.equal(await findEnvironment(t.db, env.id + 1000), undefined);
});
