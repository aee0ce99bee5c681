/**
 * environment_capture_counts (the quotas' counts) equals counting the captures table after every
 * kind of write: creates, stop, sweeper transitions, FAILED, delete of a capture and of an
 * environment; migration 0013 fills it from the captures already stored.
 */
import assert from "node:assert/strict";
import { migrate } from "drizzle-orm/libsql/migrator";
import { fileURLToPath } from "node:url";
import type { Client } from "@libsql/client";
import { openDatabase } from "../db/client.ts";
import { failCapture, persistTransitions } from "../db/captures.ts";
import { migrateDatabase } from "../db/migrate.ts";
import { testContext } from "./helpers/context.ts";

const NOW = Date.parse("2026-01-15T12:00:00Z");
const MINUTE = 60_000;

/** Per environment: [captures, live] as stored, and as counted from the captures table. */
async function countsAndTruth(client: Client) {
  const stored = await client.execute(
    "SELECT env_id, captures, live FROM environment_capture_counts WHERE captures <> 0 OR live <> 0 ORDER BY env_id",
  );
  const truth = await client.execute(
    `SELECT env_id, count(*) AS captures, sum(status NOT IN ('DONE', 'FAILED')) AS live
     FROM captures GROUP BY env_id ORDER BY env_id`,
  );
  const rows = (r: typeof stored) =>
    r.rows.map((row) => [Number(row.env_id), Number(row.captures), Number(row.live)]);
  return { stored: rows(stored), truth: rows(truth) };
}

async function assertCounts(client: Client, expected: number[][], step: string) {
  const { stored, truth } = await countsAndTruth(client);
  assert.deepEqual(truth, expected, `${step}: the captures table`);
  assert.deepEqual(stored, truth, `${step}: environment_capture_counts`);
}

Deno.test("environment_capture_counts follows creates, stop, sweeps, FAILED and deletes", async () => {
  await using t = await testContext({ now: new Date(NOW).toISOString() });
  const a = await t.createEnvironment("owner");
  const b = await t.createEnvironment("owner");
  const post = async (envId: number, body: Record<string, unknown>) => {
    const res = await t.as("owner").post("/api/captures", {
      name: `c-${crypto.randomUUID().slice(0, 8)}`,
      envId,
      ...body,
    });
    assert.equal(res.status, 201, await res.clone().text());
    return (await res.json()).id as number;
  };
  const running = await post(a.id, { duration: 600 });
  const scheduled = await post(a.id, {
    scheduledStart: new Date(NOW + 5 * MINUTE).toISOString(),
    duration: 600,
  });
  await post(a.id, { start: new Date(NOW - 60 * MINUTE).toISOString(), duration: 600 }); // DONE
  const other = await post(b.id, {});
  await assertCounts(t.client, [[a.id, 3, 2], [b.id, 1, 1]], "created");

  assert.equal((await t.as("owner").post(`/api/captures/${running}/stop`)).status, 200);
  await assertCounts(t.client, [[a.id, 3, 1], [b.id, 1, 1]], "stopped");

  // SCHEDULED -> RUNNING keeps it live; RUNNING -> DONE does not.
  await persistTransitions(t.db, NOW + 6 * MINUTE);
  await assertCounts(t.client, [[a.id, 3, 1], [b.id, 1, 1]], "started by a sweep");
  await persistTransitions(t.db, NOW + 16 * MINUTE);
  await assertCounts(t.client, [[a.id, 3, 0], [b.id, 1, 1]], "finished by a sweep");

  await failCapture(t.db, other, "gone", NOW + 16 * MINUTE);
  await assertCounts(t.client, [[a.id, 3, 0], [b.id, 1, 0]], "failed");

  assert.equal((await t.as("owner").delete(`/api/captures/${scheduled}`)).status, 204);
  await assertCounts(t.client, [[a.id, 2, 0], [b.id, 1, 0]], "one deleted");

  assert.equal((await t.as("owner").delete(`/api/environments/${b.id}`)).status, 204);
  await assertCounts(t.client, [[a.id, 2, 0]], "environment deleted");
  const left = await t.client.execute(
    { sql: "SELECT count(*) AS n FROM environment_capture_counts WHERE env_id = ?", args: [b.id] },
  );
  assert.equal(Number(left.rows[0].n), 0, "the deleted environment's row goes with it");

  // A row moved between environments (no API does it) moves its counts too.
  const c = await t.createEnvironment("owner");
  await post(c.id, {});
  await t.client.execute({
    sql: "UPDATE captures SET env_id = ? WHERE env_id = ?",
    args: [a.id, c.id],
  });
  await assertCounts(t.client, [[a.id, 3, 1]], "moved");
});

Deno.test("migration 0013 counts the captures stored before it", async () => {
  const path = await Deno.makeTempFile({ prefix: "capwatch-counts-", suffix: ".db" });
  const folder = await Deno.makeTempDir({ prefix: "capwatch-migrations-" });
  try {
    const source = fileURLToPath(new URL("../db/migrations/", import.meta.url));
    await Deno.mkdir(`${folder}/meta`);
    const journal = JSON.parse(await Deno.readTextFile(`${source}meta/_journal.json`));
    journal.entries = journal.entries.filter((e: { idx: number }) => e.idx < 13);
    await Deno.writeTextFile(`${folder}/meta/_journal.json`, JSON.stringify(journal));
    for (const { tag } of journal.entries) {
      await Deno.copyFile(`${source}${tag}.sql`, `${folder}/${tag}.sql`);
    }
    const handle = await openDatabase(`file:${path}`);
    try {
      await migrate(handle.db, { migrationsFolder: folder });
      for (const id of [1, 2]) {
        await handle.client.execute(
          `INSERT INTO environments (id, name, region, db_instance_identifier, owner_id, created_at,
            updated_at) VALUES (${id}, 'e${id}', 'us-east-1', 'db-${id}', 'owner', 0, 0)`,
        );
      }
      for (
        const [env, name, status] of [
          [1, "a", "RUNNING"],
          [1, "b", "DONE"],
          [1, "c", "SCHEDULED"],
          [2, "d", "FAILED"],
        ]
      ) {
        await handle.client.execute({
          sql: `INSERT INTO captures (env_id, owner_id, name, status, created_at, updated_at)
                VALUES (?, 'owner', ?, ?, 0, 0)`,
          args: [env, name, status],
        });
      }
      await migrateDatabase(handle.db);
      await assertCounts(handle.client, [[1, 3, 2], [2, 1, 0]], "backfilled");
    } finally {
      handle.close();
    }
  } finally {
    await Deno.remove(folder, { recursive: true });
    for (const suffix of ["", "-wal", "-shm"]) await Deno.remove(path + suffix).catch(() => {});
  }
});

Deno.test("quota: a kept count left too high by a REPLACE (direct SQL) never refuses a capture that fits", async () => {
  await using t = await testContext({
    now: "2026-01-15T12:00:00Z",
    env: { QUOTA_CAPTURES_PER_ENVIRONMENT: "2" },
  });
  const env = await t.createEnvironment("owner");
  const post = (name: string) =>
    t.as("owner").post("/api/captures", { name, envId: env.id, duration: 600 });
  const first = await post("one");
  assert.equal(first.status, 201);
  const second = await post("two");
  assert.equal(second.status, 201);
  const secondId = (await second.json()).id;
  // A DBA renames capture "two" onto "one" with SQLite's REPLACE resolution: "one" is deleted
  // (without its delete trigger: recursive_triggers is off), one capture is left.
  await t.client.execute({
    sql: "UPDATE OR REPLACE captures SET name = 'one' WHERE id = ?",
    args: [secondId],
  });
  const truth = await t.client.execute({
    sql: "SELECT count(*) AS n FROM captures WHERE env_id = ?",
    args: [env.id],
  });
  assert.equal(Number(truth.rows[0].n), 1, "one capture is stored");
  const kept = await t.client.execute({
    sql: "SELECT captures FROM environment_capture_counts WHERE env_id = ?",
    args: [env.id],
  });
  const third = await post("three");
  assert.equal(
    third.status,
    201,
    `1 of 2 captures stored, so a create is admitted (kept count ${
      kept.rows[0].captures
    }): ${await third
      .text()}`,
  );
});
