// The guarded client's fast paths answer exactly as @libsql/client does: rows by name and by
// position, numbers for integers, the driver's error codes, and a lock that stays first come,
// first served.
import assert from "node:assert/strict";
import { createClient } from "@libsql/client";
import { createLocalClient } from "../db/local_client.ts";
import { Lock } from "../db/lock.ts";
import { isUniqueViolation } from "../db/errors.ts";

async function pair() {
  const path = await Deno.makeTempFile({ prefix: "capwatch-hot-", suffix: ".db" });
  const setup = "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT UNIQUE, big INTEGER, b BLOB)";
  const ours = createLocalClient(`file:${path}`);
  await ours.execute(setup);
  const theirs = createClient({ url: `file:${path}` });
  return {
    ours,
    theirs,
    async [Symbol.asyncDispose]() {
      ours.close();
      theirs.close();
      for (const suffix of ["", "-wal", "-shm"]) await Deno.remove(path + suffix).catch(() => {});
    },
  };
}

Deno.test("guarded client: rows read by name, position, length and spread as @libsql/client's", async () => {
  await using db = await pair();
  await db.ours.execute({ sql: "INSERT INTO t (name, big) VALUES (?, ?)", args: ["a", 2 ** 40] });
  await db.ours.execute({ sql: "INSERT INTO t (name, big) VALUES (?, ?)", args: ["b", null] });
  // The same column name twice: the first wins by name, both are there by position.
  const sql = "SELECT id, name, big, name AS id FROM t ORDER BY id";
  for (let i = 0; i < 3; i++) { // prepared once, reused
    const [mine, ref] = [await db.ours.execute(sql), await db.theirs.execute(sql)];
    assert.deepEqual(mine.columns, ref.columns);
    assert.deepEqual(mine.columnTypes, ref.columnTypes);
    assert.equal(mine.rows.length, 2);
    for (const [index, row] of mine.rows.entries()) {
      const other = ref.rows[index];
      assert.equal(row.length, other.length);
      assert.deepEqual(Array.prototype.slice.call(row), Array.prototype.slice.call(other));
      assert.deepEqual({ ...row }, { ...other });
      assert.deepEqual(Object.keys(row), Object.keys(other));
      assert.equal(JSON.stringify(row), JSON.stringify(other));
      assert.equal(typeof row.big === "number" || row.big === null, true);
    }
  }
});

Deno.test("guarded client: a `limit ?` of 1 (read with one-row get()) answers as @libsql/client does", async () => {
  await using db = await pair();
  for (const name of ["a", "b", "c"]) {
    await db.ours.execute({ sql: "INSERT INTO t (name, big) VALUES (?, ?)", args: [name, 7] });
  }
  const cases: Array<[string, Array<number | bigint | string>]> = [
    ["SELECT id, name, big FROM t WHERE big = ? ORDER BY id DESC limit ?", [7, 1]],
    ["SELECT id, name, big FROM t WHERE big = ? ORDER BY id DESC limit ?", [7, 1n]],
    ["SELECT id, name, big FROM t WHERE big = ? ORDER BY id DESC limit ?", [8, 1]],
    ["SELECT id, name, big FROM t WHERE big = ? ORDER BY id DESC limit ?", [7, 2]],
    ["SELECT id, name, big FROM t WHERE big = ? ORDER BY id DESC LIMIT ?  ", [7, 3]],
    ["SELECT id, name, big FROM t WHERE name = ? limit ?", ["b", 1]],
  ];
  for (const [sql, args] of cases) {
    const [mine, ref] = [
      await db.ours.execute({ sql, args }),
      await db.theirs.execute({ sql, args }),
    ];
    const where = `${sql} ${args.join(",")}`;
    assert.deepEqual(mine.columns, ref.columns, where);
    assert.equal(mine.rows.length, ref.rows.length, where);
    const positions = (rows: typeof mine.rows) =>
      rows.map((row) => Array.prototype.slice.call(row));
    assert.deepEqual(positions(mine.rows), positions(ref.rows), where);
    assert.deepEqual(
      mine.rows.map((row) => ({ ...row })),
      ref.rows.map((row) => ({ ...row })),
      where,
    );
  }
});

Deno.test("guarded client: writes report rowsAffected and lastInsertRowid; errors keep their codes", async () => {
  await using db = await pair();
  const insert = { sql: "INSERT INTO t (name) VALUES (?)", args: ["x"] };
  const result = await db.ours.execute(insert);
  assert.equal(result.rowsAffected, 1);
  assert.equal(result.lastInsertRowid, 1n);
  const error = await db.ours.execute(insert).then(() => undefined, (e) => e);
  assert.ok(isUniqueViolation(error));
  assert.equal(error.code, "SQLITE_CONSTRAINT");
  assert.equal(error.extendedCode, "SQLITE_CONSTRAINT_UNIQUE");
  // The statement that failed is reused and works afterwards.
  const next = await db.ours.execute({ sql: insert.sql, args: ["y"] });
  assert.equal(next.rowsAffected, 1);
  const rows = (await db.ours.execute("SELECT name FROM t ORDER BY id")).rows;
  assert.deepEqual(rows.map((r) => r.name), ["x", "y"]);
  const unsafe = await db.ours.execute({ sql: "SELECT ? AS n", args: [2n ** 60n] })
    .then(() => undefined, (e) => e);
  assert.ok(unsafe instanceof RangeError);
  await assert.rejects(db.ours.execute("SELECT nope FROM t"), /no such column/);
});

Deno.test("Lock: tryAcquire takes only a free lock; waiters are served in order; a second release frees nothing", async () => {
  const lock = new Lock();
  const first = lock.tryAcquire();
  assert.ok(first);
  assert.equal(lock.tryAcquire(), undefined);
  const order: number[] = [];
  const waiters = [1, 2, 3].map((n) =>
    lock.acquire().then((release) => {
      order.push(n);
      return release;
    })
  );
  first();
  first(); // must not hand a second turn out
  const second = await waiters[0];
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.deepEqual(order, [1]);
  assert.equal(lock.tryAcquire(), undefined);
  second();
  (await waiters[1])();
  (await waiters[2])();
  assert.deepEqual(order, [1, 2, 3]);
  const again = lock.tryAcquire();
  assert.ok(again);
  again();
});

Deno.test("guarded client: writes made at once commit together; a failing one fails only itself", async () => {
  await using db = await pair();
  await db.ours.execute({ sql: "INSERT INTO t (name) VALUES (?)", args: ["taken"] });
  const names = Array.from({ length: 20 }, (_, i) => (i === 7 || i === 13 ? "taken" : `n${i}`));
  const settled = await Promise.allSettled([
    ...names.map((name) =>
      db.ours.execute({ sql: "INSERT INTO t (name) VALUES (?) RETURNING id, name", args: [name] })
    ),
    // Not groupable: runs alone, in between, and works.
    db.ours.execute("PRAGMA user_version = 7"),
    db.ours.execute({ sql: "UPDATE t SET big = 1 WHERE name = ?", args: ["taken"] }),
  ]);
  const inserts = settled.slice(0, names.length);
  for (const [i, outcome] of inserts.entries()) {
    if (names[i] === "taken") {
      assert.equal(outcome.status, "rejected", `insert ${i}`);
      assert.ok(isUniqueViolation((outcome as PromiseRejectedResult).reason));
    } else {
      assert.equal(outcome.status, "fulfilled", `insert ${i}`);
      const { rows } =
        (outcome as PromiseFulfilledResult<Awaited<ReturnType<typeof db.ours.execute>>>).value;
      assert.equal(rows[0].name, names[i]);
    }
  }
  assert.equal(settled[names.length].status, "fulfilled");
  assert.equal(
    (settled[names.length + 1] as PromiseFulfilledResult<{ rowsAffected: number }>).value
      .rowsAffected,
    1,
  );
  // Another connection sees every acknowledged write and nothing of the failed ones.
  const { rows } = await db.theirs.execute("SELECT name, big FROM t ORDER BY id");
  assert.deepEqual(
    rows.map((row) => row.name),
    ["taken", ...names.filter((name) => name !== "taken")],
  );
  assert.equal(rows[0].big, 1);
  assert.equal((await db.theirs.execute("PRAGMA user_version")).rows[0][0], 7);
  // The connection is out of the group's transaction: a write alone commits at once.
  await db.ours.execute({ sql: "INSERT INTO t (name) VALUES (?)", args: ["after"] });
  assert.equal((await db.theirs.execute("SELECT count(*) AS n FROM t")).rows[0].n, 20);
});
