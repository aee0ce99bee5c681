/**
 * Issue 17 review item 2: RDS instance identifiers are case-insensitive, so TEAM-A-DB is the
 * instance team-a-db and must not be bound a second time to the server's credentials.
 */
import assert from "node:assert/strict";
import { migrate } from "drizzle-orm/libsql/migrator";
import { fileURLToPath } from "node:url";
import { openDatabase } from "../db/client.ts";
import { migrateDatabase } from "../db/migrate.ts";
import { testContext } from "./helpers/context.ts";
import { assertProblem } from "./helpers/problem.ts";
import { envBody as env, OWN_KEYS, SERVER_KEYS } from "./helpers/instance_policy.ts";

Deno.test("An instance identifier in other letter case is the same instance: stored lower case, bound once", async () => {
  await using t = await testContext({
    env: { ...SERVER_KEYS, AWS_INSTANCE_ALLOWLIST: "team-*" },
  });
  const first = await t.as("alice").post("/api/environments", env("a", "team-a-db"));
  assert.equal(first.status, 201);
  await assertProblem(await t.as("bob").post("/api/environments", env("b", "TEAM-A-DB")), 409);
  // With its own keys bob may read it; it is stored and shown as RDS spells it.
  const own = await t.as("bob").post(
    "/api/environments",
    env("b", "Team-A-Db", { credentials: OWN_KEYS }),
  );
  assert.equal(own.status, 201, await own.clone().text());
  const body = await own.json();
  assert.equal(body.dbInstanceIdentifier, "team-a-db");
  // Dropping the keys would bind it a second time.
  await assertProblem(
    await t.as("bob").patch(`/api/environments/${body.id}`, { credentials: null }),
    409,
  );
  const moved = await t.as("bob").patch(`/api/environments/${body.id}`, {
    dbInstanceIdentifier: "TEAM-B-DB",
  });
  assert.equal((await moved.json()).dbInstanceIdentifier, "team-b-db");
});

Deno.test("Migration 0008 lower-cases instance identifiers stored as sent", async () => {
  const path = await Deno.makeTempFile({ prefix: "capwatch-case-", suffix: ".db" });
  const folder = await Deno.makeTempDir({ prefix: "capwatch-migrations-" });
  try {
    // The migrations before 0008, then a row as the API stored it before.
    const source = fileURLToPath(new URL("../db/migrations/", import.meta.url));
    await Deno.mkdir(`${folder}/meta`);
    const journal = JSON.parse(await Deno.readTextFile(`${source}meta/_journal.json`));
    journal.entries = journal.entries.filter((e: { idx: number }) => e.idx < 8);
    await Deno.writeTextFile(`${folder}/meta/_journal.json`, JSON.stringify(journal));
    for (const { tag } of journal.entries) {
      await Deno.copyFile(`${source}${tag}.sql`, `${folder}/${tag}.sql`);
    }
    const handle = await openDatabase(`file:${path}`);
    await migrate(handle.db, { migrationsFolder: folder });
    await handle.client.execute(
      `INSERT INTO environments (id, name, region, db_instance_identifier, owner_id, created_at,
        updated_at) VALUES (1, 'e', 'us-east-1', 'TEAM-A-DB', 'owner', 0, 0)`,
    );
    await migrateDatabase(handle.db);
    const { rows } = await handle.client.execute("SELECT db_instance_identifier FROM environments");
    handle.close();
    assert.deepEqual(rows.map((r) => r.db_instance_identifier), ["team-a-db"]);
  } finally {
    await Deno.remove(folder, { recursive: true });
    for (const suffix of ["", "-wal", "-shm"]) await Deno.remove(path + suffix).catch(() => {});
  }
});
