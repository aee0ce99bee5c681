// A batch of only SELECTs (the /health ping) runs on the guarded client's prepared statements:
// it still reads the file every time, fails like @libsql/client's batch and leaves no transaction
// open behind a failure.
import assert from "node:assert/strict";
import { createClient, LibsqlBatchError } from "@libsql/client";
import { scratchDatabase } from "./helpers/scratch_database.ts";

const database = () => scratchDatabase("capwatch-read-batch-", [[1, "one"]]);

Deno.test("read batch: every ping reads the file, also after another connection's commit", async () => {
  await using db = await database();
  const other = createClient({ url: `file:${db.path}` });
  try {
    for (let i = 2; i <= 5; i++) {
      const [result] = await db.ours.batch(["SELECT count(*) AS n FROM t"], "read");
      assert.equal(Number(result.rows[0].n), i - 1);
      assert.deepEqual(result.columns, ["n"]);
      await other.execute({ sql: "INSERT INTO t (id, name) VALUES (?, 'x')", args: [i] });
    }
    const [result] = await db.ours.batch(["SELECT count(*) AS n FROM t"]);
    assert.equal(Number(result.rows[0].n), 5);
  } finally {
    other.close();
  }
});

Deno.test("read batch: a failing SELECT names its index and leaves no transaction open", async () => {
  await using db = await database();
  await assert.rejects(
    db.ours.batch(["SELECT 1", "SELECT nope FROM t"], "read"),
    (error: unknown) =>
      error instanceof LibsqlBatchError && error.statementIndex === 1 &&
      error.code === "SQLITE_ERROR",
  );
  // The read transaction was rolled back: a write and a further ping go through.
  await db.ours.execute("INSERT INTO t (id, name) VALUES (2, 'two')");
  const [first, second] = await db.ours.batch([
    "SELECT count(*) AS n FROM t",
    { sql: "SELECT name FROM t WHERE id = ?", args: [2] },
  ], "read");
  assert.equal(Number(first.rows[0].n), 2);
  assert.equal(second.rows[0].name, "two");
});
