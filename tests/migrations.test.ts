import assert from "node:assert/strict";
import { createClient } from "@libsql/client";
import { fileURLToPath } from "node:url";
import { openDatabase } from "../db/client.ts";
import { migrateDatabase } from "../db/migrate.ts";
import { startFakeTurso } from "./fakes/hrana.ts";

const folder = fileURLToPath(new URL("../db/migrations/", import.meta.url));

/** The statements of one migration file, as drizzle's migrator splits them. */
async function statements(file: string): Promise<string[]> {
  const text = await Deno.readTextFile(`${folder}${file}`);
  return text.split("--> statement-breakpoint").map((s) => s.trim()).filter(Boolean);
}

Deno.test("migration 0002 moves each stored snapshot series into its own compact row", async () => {
  const dir = await Deno.makeTempDir({ prefix: "capwatch-migration-" });
  const client = createClient({ url: `file:${dir}/m.db` });
  try {
    for (const file of ["0000_opposite_dust.sql", "0001_snapshot_leases.sql"]) {
      for (const sql of await statements(file)) await client.execute(sql);
    }
    await client.execute(`INSERT INTO environments (id, name, region, db_instance_identifier,
      owner_id, created_at, updated_at) VALUES (1, 'e', 'us-east-1', 'db', 'u', 0, 0)`);
    for (const id of [1, 2, 3]) {
      await client.execute({
        sql: `INSERT INTO captures (id, env_id, owner_id, name, status, start, end, created_at,
          updated_at) VALUES (?, 1, 'u', ?, 'DONE', 0, 120000, 0, 0)`,
        args: [id, `c${id}`],
      });
    }
    const series = (type: string, points: Array<[string, number]>) => ({
      type,
      label: `${type} label`,
      unit: "Percent",
      complete: true,
      datapoints: points.map(([timestamp, value]) => ({ timestamp, value })),
    });
    const payload = {
      version: 1,
      complete: false,
      stats: {
        Average: [
          series("CPUUtilization", [["2026-01-15T11:30:00.000Z", 1.5], [
            "2026-01-15T11:31:00.000Z",
            2,
          ]]),
          series("ReadIOPS", []),
        ],
        Maximum: [series("CPUUtilization", [["2026-01-15T11:30:00.000Z", 9]])],
      },
    };
    const insert =
      `INSERT INTO capture_snapshots (capture_id, period, start, end, payload, taken_at)
      VALUES (?, 60, 0, 120000, ?, 0)`;
    await client.execute({ sql: insert, args: [1, JSON.stringify(payload)] });
    await client.execute({ sql: insert, args: [2, "{}"] });
    await client.execute({ sql: insert, args: [3, "not json"] });

    for (const sql of await statements("0002_snapshot_series.sql")) await client.execute(sql);

    const rows = await client.execute(
      "SELECT capture_id, stat, type, label, unit, complete, datapoints FROM capture_snapshot_series ORDER BY capture_id, stat, type",
    );
    assert.deepEqual(rows.rows.map((r) => ({ ...r })), [
      {
        capture_id: 1,
        stat: "Average",
        type: "CPUUtilization",
        label: "CPUUtilization label",
        unit: "Percent",
        complete: 1,
        datapoints: JSON.stringify([[1768476600, 1.5], [1768476660, 2]]),
      },
      {
        capture_id: 1,
        stat: "Average",
        type: "ReadIOPS",
        label: "ReadIOPS label",
        unit: "Percent",
        complete: 1,
        datapoints: "[]",
      },
      {
        capture_id: 1,
        stat: "Maximum",
        type: "CPUUtilization",
        label: "CPUUtilization label",
        unit: "Percent",
        complete: 1,
        datapoints: JSON.stringify([[1768476600, 9]]),
      },
    ]);
    const headers = await client.execute(
      "SELECT capture_id, complete FROM capture_snapshots ORDER BY capture_id",
    );
    assert.deepEqual(headers.rows.map((r) => [r.capture_id, r.complete]), [[1, 0], [2, 1], [3, 1]]);
  } finally {
    client.close();
    await Deno.remove(dir, { recursive: true });
  }
});

/** Two instances opening one new database and migrating it at the same moment both succeed. */
async function migrateTwiceAtOnce(url: string, authToken?: string) {
  const a = await openDatabase(url, authToken);
  const b = await openDatabase(url, authToken);
  try {
    await Promise.all([migrateDatabase(a.db), migrateDatabase(b.db)]);
    const applied = await a.client.execute("SELECT count(*) AS n FROM __drizzle_migrations");
    const files = [...Deno.readDirSync(folder)].filter((f) => f.name.endsWith(".sql"));
    assert.equal(Number(applied.rows[0].n), files.length, "each migration recorded once");
  } finally {
    a.close();
    b.close();
  }
}

Deno.test("migrateDatabase() from two instances on one new file: both succeed", async () => {
  const dir = await Deno.makeTempDir({ prefix: "capwatch-migration-race-" });
  try {
    await migrateTwiceAtOnce(`file:${dir}/race.db`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("migrateDatabase() from two instances on one new remote database: both succeed", async () => {
  await using turso = await startFakeTurso();
  await migrateTwiceAtOnce(turso.url);
});

Deno.test("migrateDatabase() on a database one migration behind applies the last, then nothing", async () => {
  const dir = await Deno.makeTempDir({ prefix: "capwatch-migration-behind-" });
  const older = `${dir}/migrations`;
  try {
    // db/migrations without its newest migration, as an older capwatch shipped it.
    await Deno.mkdir(`${older}/meta`, { recursive: true });
    const journal = JSON.parse(await Deno.readTextFile(`${folder}meta/_journal.json`));
    const newest = journal.entries.at(-1);
    journal.entries = journal.entries.slice(0, -1);
    await Deno.writeTextFile(`${older}/meta/_journal.json`, JSON.stringify(journal));
    for (const entry of journal.entries) {
      await Deno.copyFile(`${folder}${entry.tag}.sql`, `${older}/${entry.tag}.sql`);
    }
    const database = await openDatabase(`file:${dir}/behind.db`);
    try {
      const { migrate } = await import("drizzle-orm/libsql/migrator");
      await migrate(database.db, { migrationsFolder: older });
      const count = async () =>
        Number(
          (await database.client.execute("SELECT count(*) AS n FROM __drizzle_migrations"))
            .rows[0].n,
        );
      assert.equal(await count(), journal.entries.length);

      await migrateDatabase(database.db);
      assert.equal(await count(), journal.entries.length + 1, `${newest.tag} applied`);
      const last = await database.client.execute(
        "SELECT max(created_at) AS at FROM __drizzle_migrations",
      );
      assert.equal(Number(last.rows[0].at), newest.when);

      await migrateDatabase(database.db);
      assert.equal(await count(), journal.entries.length + 1, "a current database applies nothing");
    } finally {
      database.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
