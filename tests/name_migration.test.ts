/**
 * The data step after the schema migrations: stored names rewritten to Unicode NFC, and names
 * that would collide in NFC reported (one warning each) and left as they are. On real libSQL files.
 */
import assert from "node:assert/strict";
import { openDatabase } from "../db/client.ts";
import { migrateDatabase } from "../db/migrate.ts";
import { logLines, startServer } from "./helpers/process.ts";

const NFC = "caf\u00e9";
const NFD = "cafe\u0301";

/** A migrated database file holding names written before they were normalised. */
async function seededFile(): Promise<string> {
  const path = await Deno.makeTempFile({ prefix: "capwatch-nfc-", suffix: ".db" });
  const handle = await openDatabase(`file:${path}`);
  await migrateDatabase(handle.db);
  const env = (id: number, name: string, owner = "owner") =>
    handle.client.execute({
      sql: `INSERT INTO environments (id, name, region, db_instance_identifier, owner_id,
        created_at, updated_at) VALUES (?, ?, 'us-east-1', 'db-1', ?, 0, 0)`,
      args: [id, name, owner],
    });
  const capture = (id: number, envId: number, name: string) =>
    handle.client.execute({
      sql: `INSERT INTO captures (id, env_id, owner_id, name, status, created_at, updated_at)
        VALUES (?, ?, 'owner', ?, 'RUNNING', 0, 0)`,
      args: [id, envId, name],
    });
  await env(1, "r\u00e9gion"); // NFC
  await env(2, "re\u0301gion"); // the same name in NFD: a collision
  await env(3, "nai\u0308ve"); // NFD alone: rewritten
  await env(4, "re\u0301gion", "other"); // another owner's: names are unique per owner, rewritten
  await capture(10, 1, NFC);
  await capture(11, 1, NFD); // collides with 10 in environment 1
  await capture(12, 1, "the\u0301"); // NFD alone: rewritten
  await capture(13, 2, NFD); // alone in environment 2: rewritten
  await capture(14, 2, "plain");
  handle.close();
  return path;
}

async function names(path: string, table: string) {
  const handle = await openDatabase(`file:${path}`);
  const rows = await handle.client.execute(`SELECT id, name FROM ${table} ORDER BY id`);
  handle.close();
  return Object.fromEntries(rows.rows.map((r) => [Number(r.id), String(r.name)]));
}

async function removeDatabase(path: string) {
  for (const suffix of ["", "-wal", "-shm"]) await Deno.remove(path + suffix).catch(() => {});
}

Deno.test("migrateDatabase() rewrites names to NFC and reports, untouched, those that collide", async () => {
  const path = await seededFile();
  try {
    const handle = await openDatabase(`file:${path}`);
    const warnings: [string, Record<string, unknown>][] = [];
    const report = await migrateDatabase(handle.db, { warn: (m, f) => warnings.push([m, f]) });
    handle.close();
    assert.equal(report.renamed, 4);
    assert.deepEqual(await names(path, "captures"), {
      10: NFC,
      11: NFD,
      12: "th\u00e9",
      13: NFC,
      14: "plain",
    });
    assert.deepEqual(await names(path, "environments"), {
      1: "r\u00e9gion",
      2: "re\u0301gion",
      3: "na\u00efve",
      4: "r\u00e9gion",
    });
    assert.deepEqual(warnings.map(([, fields]) => fields), [
      { table: "captures", envId: 1, ids: [10, 11], names: [NFC, NFD] },
      { table: "environments", envId: null, ids: [1, 2], names: ["r\u00e9gion", "re\u0301gion"] },
    ]);
    assert.match(warnings[0][0], /collide in Unicode NFC; left unchanged/);

    // A second start rewrites nothing and reports what is still unresolved.
    const again = await openDatabase(`file:${path}`);
    const second = await migrateDatabase(again.db);
    again.close();
    assert.equal(second.renamed, 0);
    assert.equal(second.collisions.length, 2);
  } finally {
    await removeDatabase(path);
  }
});

Deno.test("main.ts logs one warning line per NFC name collision when it starts", async () => {
  const path = await seededFile();
  try {
    await using server = await startServer({ DATABASE_URL: `file:${path}` });
    const warnings = logLines(server).filter((line) => line.level === "warn");
    assert.deepEqual(
      warnings.map((w) => [w.msg, w.table, w.envId, w.ids]),
      [
        ["names collide in Unicode NFC; left unchanged, rename all but one", "captures", 1, [
          10,
          11,
        ]],
        ["names collide in Unicode NFC; left unchanged, rename all but one", "environments", null, [
          1,
          2,
        ]],
      ],
    );
  } finally {
    await removeDatabase(path);
  }
});

Deno.test("a name whose NFC form is plain ASCII (KELVIN SIGN) collides with the ASCII name", async () => {
  const path = await Deno.makeTempFile({ prefix: "capwatch-nfc-", suffix: ".db" });
  try {
    const handle = await openDatabase(`file:${path}`);
    await migrateDatabase(handle.db);
    await handle.client.execute(`INSERT INTO environments (id, name, region,
      db_instance_identifier, owner_id, created_at, updated_at) VALUES
      (1, 'Kelvin', 'us-east-1', 'db-1', 'owner', 0, 0),
      (2, '\u212Aelvin', 'us-east-1', 'db-1', 'owner', 0, 0),
      (3, '\u212Ak', 'us-east-1', 'db-1', 'owner', 0, 0)`);
    await handle.client.execute(`INSERT INTO captures (id, env_id, owner_id, name, status,
      created_at, updated_at) VALUES (1, 1, 'owner', 'K', 'RUNNING', 0, 0),
      (2, 1, 'owner', '\u212A', 'RUNNING', 0, 0), (3, 2, 'owner', '\u212A', 'RUNNING', 0, 0)`);
    const report = await migrateDatabase(handle.db);
    handle.close();
    assert.deepEqual(report.collisions, [
      { table: "captures", envId: 1, ids: [1, 2], names: ["K", "\u212A"] },
      { table: "environments", envId: null, ids: [1, 2], names: ["Kelvin", "\u212Aelvin"] },
    ]);
    assert.equal(report.renamed, 2, "capture 3 and environment 3 had no one to collide with");
    assert.deepEqual(await names(path, "captures"), { 1: "K", 2: "\u212A", 3: "K" });
    assert.deepEqual(await names(path, "environments"), { 1: "Kelvin", 2: "\u212Aelvin", 3: "Kk" });
  } finally {
    await removeDatabase(path);
  }
});

Deno.test("a KELVIN SIGN environment name collides only with its own owner's ASCII name; a renamed capture's version moves", async () => {
  const path = await Deno.makeTempFile({ prefix: "capwatch-nfc-", suffix: ".db" });
  try {
    const handle = await openDatabase(`file:${path}`);
    await migrateDatabase(handle.db);
    await handle.client.execute(`INSERT INTO environments (id, name, region,
      db_instance_identifier, owner_id, created_at, updated_at) VALUES
      (1, 'Kelvin', 'us-east-1', 'db-1', 'ann', 0, 0),
      (2, '\u212Aelvin', 'us-east-1', 'db-1', 'bob', 0, 0),
      (3, 'Kelvin', 'us-east-1', 'db-1', 'cy', 0, 0),
      (4, '\u212Aelvin', 'us-east-1', 'db-1', 'cy', 0, 0)`);
    await handle.client.execute(`INSERT INTO captures (id, env_id, owner_id, name, status,
      created_at, updated_at) VALUES (1, 1, 'ann', '\u212A', 'RUNNING', 0, 0)`);
    const report = await migrateDatabase(handle.db);
    const [{ version }] = (await handle.client.execute("SELECT version FROM captures")).rows;
    handle.close();
    assert.deepEqual(report.collisions, [
      { table: "environments", envId: null, ids: [3, 4], names: ["Kelvin", "\u212Aelvin"] },
    ]);
    assert.equal(report.renamed, 2);
    assert.equal(Number(version), 2);
    assert.deepEqual(await names(path, "environments"), {
      1: "Kelvin",
      2: "Kelvin",
      3: "Kelvin",
      4: "\u212Aelvin",
    });
  } finally {
    await removeDatabase(path);
  }
});
