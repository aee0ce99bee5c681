// The read cache (db/read_cache.ts) answers a repeated SELECT from memory only while the database
// is unchanged: every write of the process itself, of another connection and of another process
// is seen by the very next read, and what is kept is bounded and never shared across arguments.
import assert from "node:assert/strict";
import { createClient } from "@libsql/client";
import { mintToken } from "../auth/mint.ts";
import { createLocalClient } from "../db/local_client.ts";
import { argumentsKey, createReadCache, isCacheableRead } from "../db/read_cache.ts";
import { TEST_SECRET } from "./helpers/context.ts";
import { callJson, startTwoOnOneFile } from "./helpers/process.ts";
import { scratchDatabase } from "./helpers/scratch_database.ts";

const database = () => scratchDatabase("capwatch-reads-", [[1, "one"], [2, "two"]]);

const nameOf = async (client: { execute: ReturnType<typeof createLocalClient>["execute"] }) =>
  (await client.execute({ sql: "SELECT name FROM t WHERE id = ?", args: [1] })).rows[0]?.name;

Deno.test("read cache: a repeated SELECT is answered with the same frozen result", async () => {
  await using db = await database();
  const sql = { sql: "SELECT id, name FROM t WHERE id = ?", args: [1] };
  const first = await db.ours.execute(sql);
  const second = await db.ours.execute(sql);
  assert.equal(second, first, "kept and answered again");
  assert.ok(Object.isFrozen(first.rows) && Object.isFrozen(first.rows[0]));
  assert.throws(() => (first.rows as unknown as unknown[]).push(1), TypeError);
  // Other arguments, and the same digits as text, are other entries.
  assert.equal((await db.ours.execute({ sql: sql.sql, args: [2] })).rows[0].name, "two");
  assert.equal((await db.ours.execute({ sql: sql.sql, args: ["1"] })).rows[0].name, "one");
  assert.notEqual(await db.ours.execute({ sql: sql.sql, args: ["1"] }), first);
});

Deno.test("read cache: the process's own writes are seen by the next read, every kind of write", async () => {
  await using db = await database();
  assert.equal(await nameOf(db.ours), "one");
  // A batch of SELECTs (a /health ping) changes nothing, so what is kept stays.
  const kept = await db.ours.execute({ sql: "SELECT name FROM t WHERE id = ?", args: [1] });
  await db.ours.batch(["SELECT count(*) FROM t"], "read");
  assert.equal(await db.ours.execute({ sql: "SELECT name FROM t WHERE id = ?", args: [1] }), kept);
  await db.ours.execute({ sql: "UPDATE t SET name = ? WHERE id = 1", args: ["statement"] });
  assert.equal(await nameOf(db.ours), "statement");
  await db.ours.batch([{ sql: "UPDATE t SET name = ? WHERE id = 1", args: ["batch"] }], "write");
  assert.equal(await nameOf(db.ours), "batch");
  const tx = await db.ours.transaction("write");
  await tx.execute({ sql: "UPDATE t SET name = ? WHERE id = 1", args: ["transaction"] });
  await tx.commit();
  assert.equal(await nameOf(db.ours), "transaction");
  const rolledBack = await db.ours.transaction("write");
  await rolledBack.execute({ sql: "UPDATE t SET name = ? WHERE id = 1", args: ["never"] });
  await rolledBack.rollback();
  assert.equal(await nameOf(db.ours), "transaction");
  const returned = await db.ours.execute({
    sql: "UPDATE t SET name = ? WHERE id = 1 RETURNING name",
    args: ["returning"],
  });
  assert.equal(returned.rows[0].name, "returning");
  assert.equal(await nameOf(db.ours), "returning");
  await db.ours.executeMultiple("UPDATE t SET name = 'multiple' WHERE id = 1;");
  assert.equal(await nameOf(db.ours), "multiple");
  // Writes that arrive together commit as a group (group commit) and are seen too.
  await Promise.all(
    ["g1", "g2", "g3"].map((name, i) =>
      db.ours.execute({ sql: "INSERT INTO t (id, name) VALUES (?, ?)", args: [10 + i, name] })
    ),
  );
  const count = await db.ours.execute("SELECT count(*) AS n FROM t");
  assert.equal(count.rows[0].n, 5);
});

Deno.test("read cache: another connection's commit is seen by the next read", async () => {
  await using db = await database();
  const theirs = createClient({ url: `file:${db.path}` });
  try {
    for (let i = 0; i < 20; i++) {
      assert.equal(await nameOf(db.ours), i === 0 ? "one" : `theirs-${i - 1}`);
      assert.equal(await nameOf(db.ours), i === 0 ? "one" : `theirs-${i - 1}`); // kept
      await theirs.execute({ sql: "UPDATE t SET name = ? WHERE id = 1", args: [`theirs-${i}`] });
    }
    await theirs.execute("DELETE FROM t WHERE id = 1");
    assert.equal(await nameOf(db.ours), undefined);
  } finally {
    theirs.close();
  }
});

Deno.test("read cache: SELECTs that depend on more than the data are never kept", async () => {
  for (
    const hidden of [
      'SELECT "random"()',
      "SELECT `random` ()",
      "SELECT [random]()",
      "SELECT random/**/()",
      "SELECT 1 -- random()",
    ]
  ) assert.equal(isCacheableRead(hidden), false, hidden);
  await using db = await database();
  const random = async () => (await db.ours.execute("SELECT random() % 1000000000 AS r")).rows[0].r;
  assert.notEqual(await random(), await random());
  for (
    const sql of [
      "SELECT random()",
      "SELECT unixepoch()",
      "SELECT strftime('%s', 'now')",
      "SELECT CURRENT_TIMESTAMP",
      "SELECT datetime ('now')",
      "SELECT last_insert_rowid()",
      "SELECT changes()",
      "INSERT INTO t (name) VALUES ('x') RETURNING id",
      "PRAGMA data_version",
      "WITH x AS (SELECT 1) SELECT * FROM x",
    ]
  ) assert.equal(isCacheableRead(sql), false, sql);
  assert.equal(isCacheableRead('SELECT "start", "end", "timestamp" FROM captures'), true);
  assert.equal(argumentsKey([1]) === argumentsKey(["1"]), false);
  assert.equal(argumentsKey(["a", "b"]) === argumentsKey(["a\u0000b"]), false);
  assert.equal(argumentsKey([new Uint8Array(1)]), undefined);
  assert.equal(argumentsKey({ id: 1 }), undefined);
});

Deno.test("read cache: bounded by entries and estimated bytes, oldest dropped first", () => {
  const reads = createReadCache();
  reads.observe(1);
  const big = "x".repeat(10_000);
  const result = (i: number) => ({
    columns: ["v"],
    columnTypes: [""],
    rows: [Object.assign([big + i], { v: big + i })],
    rowsAffected: 0,
    lastInsertRowid: undefined,
    toJSON: () => ({}),
  });
  for (let i = 0; i < 5_000; i++) {
    // deno-lint-ignore no-explicit-any
    reads.set("SELECT v FROM big WHERE id = ?", argumentsKey([i])!, result(i) as any);
  }
  assert.ok(reads.size.bytes <= 8 * 1024 * 1024, `${reads.size.bytes} bytes kept`);
  assert.ok(reads.size.entries <= 4_096);
  assert.equal(reads.get("SELECT v FROM big WHERE id = ?", argumentsKey([0])!), undefined);
  assert.ok(reads.get("SELECT v FROM big WHERE id = ?", argumentsKey([4_999])!));
  reads.observe(2); // another process committed
  assert.equal(reads.size.entries, 0);
});

Deno.test("read cache: a capture changed by another capwatch process is read fresh at once", async () => {
  await using servers = await startTwoOnOneFile();
  const { a, b } = servers;
  const token = await mintToken(TEST_SECRET, { sub: "reader", ttlSeconds: 600 });
  const env = await callJson(a.url, token, "POST", "/api/environments", {
    name: "reads",
    region: "us-east-1",
    dbInstanceIdentifier: "reads-db",
  });
  assert.equal(env.status, 201, JSON.stringify(env.body));
  const envId = (env.body as { id: number }).id;
  const created = await callJson(a.url, token, "POST", "/api/captures", {
    envId,
    name: "v0",
    scheduledStart: "2030-01-01T00:00:00Z",
    duration: 3600,
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const id = (created.body as { id: number }).id;
  const readOnA = async () =>
    (await callJson(a.url, token, "GET", `/api/captures/${id}`)).body as {
      name: string;
    };
  for (let i = 1; i <= 10; i++) {
    assert.equal((await readOnA()).name, `v${i - 1}`);
    assert.equal((await readOnA()).name, `v${i - 1}`);
    const renamed = await callJson(b.url, token, "PATCH", `/api/captures/${id}`, {
      name: `v${i}`,
    });
    assert.equal(renamed.status, 200, JSON.stringify(renamed.body));
    assert.equal((await readOnA()).name, `v${i}`, "A answers B's rename at once");
  }
  const deleted = await callJson(b.url, token, "DELETE", `/api/captures/${id}`);
  assert.equal(deleted.status, 204);
  assert.equal((await callJson(a.url, token, "GET", `/api/captures/${id}`)).status, 404);
  const list = await callJson(a.url, token, "GET", `/api/captures?envId=${envId}`);
  assert.deepEqual(list.body, []);
});

Deno.test("read cache: a bigint argument and a number of the same value are different reads", async () => {
  // libsql binds a JS number as REAL and a bigint as INTEGER, so SQLite answers differently.
  const path = await Deno.makeTempFile({ suffix: ".db" });
  const client = createLocalClient(`file:${path}`);
  try {
    const sql = "SELECT typeof(?) AS t, ? / 2 AS half";
    const asNumber = await client.execute({ sql, args: [1, 1] });
    assert.deepEqual([asNumber.rows[0].t, asNumber.rows[0].half], ["real", 0.5]);
    const asBigint = await client.execute({ sql, args: [1n, 1n] });
    assert.deepEqual(
      [asBigint.rows[0].t, asBigint.rows[0].half],
      ["integer", 0],
      "an uncached client answers integer / 0; the cache answered the number's real / 0.5",
    );
    assert.notEqual(argumentsKey([1]), argumentsKey([1n]), "the keys must differ");
  } finally {
    client.close();
    for (const suffix of ["", "-wal", "-shm"]) await Deno.remove(path + suffix).catch(() => {});
  }
});
