// The /health ping reads its count with libsql's get(): all() and iterate() make a native row
// iterator per call that holds ~1 KB of malloc heap until V8 collects its wrapper, and under a
// health poll the process's heap kept that high-water mark (README: Round 6: memory).
import assert from "node:assert/strict";
import { ConnectionPool } from "@libsql/client/sqlite3";
import { pingDatabase } from "../db/health.ts";
import { createLocalClient } from "../db/local_client.ts";

Deno.test("health ping: answers the migration count without a native row iterator", async () => {
  const path = await Deno.makeTempFile({ prefix: "capwatch-health-ping-", suffix: ".db" });
  const client = createLocalClient(`file:${path}`);
  // A libsql connection of the same binding; its Statement class is not exported, but every
  // statement shares its prototype.
  const probe = new ConnectionPool(":memory:", {}, 1);
  const statementProto = Object.getPrototypeOf(probe.acquireSync().prepare("SELECT 1"));
  const iterate = statementProto.iterate;
  let iterators = 0;
  statementProto.iterate = function (...args: unknown[]) {
    iterators++;
    return iterate.apply(this, args);
  };
  try {
    await client.execute("CREATE TABLE __drizzle_migrations (id INTEGER PRIMARY KEY, hash TEXT)");
    for (let applied = 0; applied < 3; applied++) {
      assert.equal(await pingDatabase(client), applied);
      assert.equal(await pingDatabase(client), applied);
      await client.execute({
        sql: "INSERT INTO __drizzle_migrations (hash) VALUES (?)",
        args: [`m${applied}`],
      });
    }
    assert.equal(iterators, 0);
    // The spy sees what the local client runs: a plain read through all() is counted.
    await client.execute("SELECT hash FROM __drizzle_migrations");
    assert.equal(iterators, 1);
  } finally {
    statementProto.iterate = iterate;
    probe.close();
    client.close();
    for (const suffix of ["", "-wal", "-shm"]) await Deno.remove(path + suffix).catch(() => {});
  }
});
