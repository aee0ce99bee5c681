/**
 * The local database layer never acknowledges a write it did not commit: after SQLITE_BUSY the
 * libsql binding leaves the failed statement in progress, and every later "successful" write on
 * that connection stays uncommitted (libsql-client-ts #352, libsql-js #237 and #238).
 */
import assert from "node:assert/strict";
import { createClient } from "@libsql/client";
import { DatabaseBusyError, openDatabase } from "../db/client.ts";
import { MAX_WAITING_WRITES } from "../db/local_client.ts";
import { captures } from "../db/schema.ts";
import { postCapture } from "./helpers/captures.ts";
import { testContext } from "./helpers/context.ts";
import { assertProblem } from "./helpers/problem.ts";

async function tempDatabase() {
  const dir = await Deno.makeTempDir({ prefix: "capwatch-busy-" });
  const url = `file:${dir}/busy.db`;
  const setup = createClient({ url });
  await setup.execute("PRAGMA journal_mode = WAL");
  await setup.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)");
  setup.close();
  return { url, [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }) };
}

/** Holds the write lock on `url` through a second connection until released. */
async function holdWriteLock(url: string) {
  const holder = createClient({ url });
  const tx = await holder.transaction("write");
  await tx.execute("INSERT INTO t (v) VALUES ('holder')");
  return {
    release: async () => {
      await tx.commit();
      holder.close();
    },
  };
}

/** What a fresh connection, opened after everything else, sees in `t`. */
async function committedValues(url: string): Promise<string[]> {
  const fresh = createClient({ url });
  try {
    const result = await fresh.execute("SELECT v FROM t ORDER BY id");
    return result.rows.map((row) => String(row.v));
  } finally {
    fresh.close();
  }
}

Deno.test("a write acknowledged after another connection held the lock is committed", async () => {
  await using file = await tempDatabase();
  const handle = await openDatabase(file.url, undefined, { busyBudgetMs: 2_000 });
  try {
    const lock = await holdWriteLock(file.url);
    // Concurrent writes while the lock is held: each either waits for it or is refused.
    const during = Array.from(
      { length: 5 },
      (_, i) =>
        handle.client.execute({ sql: "INSERT INTO t (v) VALUES (?)", args: [`during-${i}`] })
          .then(() => `during-${i}`, (error) => error),
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    await lock.release();
    const outcomes = await Promise.all(during);
    const acknowledged = outcomes.filter((o): o is string => typeof o === "string");
    for (const outcome of outcomes) {
      if (typeof outcome !== "string") assert.ok(outcome instanceof DatabaseBusyError, outcome);
    }
    for (let i = 0; i < 5; i++) {
      await handle.client.execute({ sql: "INSERT INTO t (v) VALUES (?)", args: [`after-${i}`] });
      acknowledged.push(`after-${i}`);
    }
    await handle.client.batch([
      { sql: "INSERT INTO t (v) VALUES (?)", args: ["batch"] },
    ], "write");
    acknowledged.push("batch");

    const committed = await committedValues(file.url);
    for (const value of acknowledged) assert.ok(committed.includes(value), `${value} was lost`);
  } finally {
    handle.close();
  }
});

Deno.test("a write refused for the whole budget is a DatabaseBusyError and wrote nothing", async () => {
  await using file = await tempDatabase();
  const handle = await openDatabase(file.url, undefined, { busyBudgetMs: 300 });
  try {
    const lock = await holdWriteLock(file.url);
    const refused = await handle.client.execute("INSERT INTO t (v) VALUES ('refused')").then(
      () => undefined,
      (error) => error,
    );
    assert.ok(refused instanceof DatabaseBusyError, String(refused));
    assert.ok(refused.retryAfterSeconds >= 1);
    // Reads keep flowing while the other connection holds the write lock (WAL).
    const read = await handle.client.execute("SELECT count(*) AS n FROM t");
    assert.equal(Number(read.rows[0].n), 0);
    await lock.release();
    await handle.client.execute("INSERT INTO t (v) VALUES ('later')");
    assert.deepEqual(await committedValues(file.url), ["holder", "later"]);
  } finally {
    handle.close();
  }
});

Deno.test("waiting for another connection's lock does not stop the event loop", async () => {
  await using file = await tempDatabase();
  const handle = await openDatabase(file.url, undefined, { busyBudgetMs: 1_500 });
  try {
    const lock = await holdWriteLock(file.url);
    const write = handle.client.execute("INSERT INTO t (v) VALUES ('waits')");
    // Timer ticks during the wait prove the thread is free; a blocking busy handler would
    // deliver none of them until the lock is released.
    let ticks = 0;
    const timer = setInterval(() => ticks++, 20);
    await new Promise((resolve) => setTimeout(resolve, 500));
    clearInterval(timer);
    assert.ok(ticks >= 10, `only ${ticks} timer ticks in 500 ms`);
    await lock.release();
    await write;
    assert.ok((await committedValues(file.url)).includes("waits"));
  } finally {
    handle.close();
  }
});

Deno.test("POST /api/captures answers 503 with Retry-After while the lock stays held, and writes nothing", async () => {
  await using t = await testContext({ busyBudgetMs: 300 });
  const env = await t.createEnvironment("owner");
  const other = createClient({ url: `file:${t.dbPath}` });
  const tx = await other.transaction("write");
  await tx.execute("SELECT 1");
  try {
    const res = await t.as("owner").post("/api/captures", { name: "locked-out", envId: env.id });
    await assertProblem(res, 503);
    assert.equal(res.headers.get("Retry-After"), "1");
    // Reads go on while the lock is held.
    assert.equal((await t.as("owner").get("/api/captures")).status, 200);
  } finally {
    await tx.rollback();
    other.close();
  }
  const list = await (await t.as("owner").get("/api/captures")).json();
  assert.deepEqual(list, []);
  assert.ok(t.logLines.some((line) => line.includes('"database busy"')));
  assert.ok(!t.logLines.some((line) => line.includes("unhandled error")));
});

Deno.test("a transaction's BEGIN waits for another connection's lock, and its commit is durable", async () => {
  await using file = await tempDatabase();
  const handle = await openDatabase(file.url, undefined, { busyBudgetMs: 2_000 });
  try {
    const lock = await holdWriteLock(file.url);
    const opening = handle.client.transaction("write");
    setTimeout(() => lock.release(), 200);
    const tx = await opening;
    await tx.execute("INSERT INTO t (v) VALUES ('in-tx')");
    await tx.commit();
    assert.deepEqual(await committedValues(file.url), ["holder", "in-tx"]);
    // The connection is free again for the client's other operations.
    await handle.client.execute("INSERT INTO t (v) VALUES ('after-tx')");
    assert.ok((await committedValues(file.url)).includes("after-tx"));
  } finally {
    handle.close();
  }
});

Deno.test("a transaction that cannot begin within the budget is a DatabaseBusyError", async () => {
  await using file = await tempDatabase();
  const handle = await openDatabase(file.url, undefined, { busyBudgetMs: 300 });
  try {
    const lock = await holdWriteLock(file.url);
    const refused = await handle.client.transaction("write").then(() => undefined, (e) => e);
    assert.ok(refused instanceof DatabaseBusyError, String(refused));
    await lock.release();
    await handle.client.execute("INSERT INTO t (v) VALUES ('later')");
    assert.deepEqual(await committedValues(file.url), ["holder", "later"]);
  } finally {
    handle.close();
  }
});

Deno.test("while the lock is held, writes past MAX_WAITING_WRITES are refused at once and write nothing", async () => {
  await using file = await tempDatabase();
  const handle = await openDatabase(file.url, undefined, { busyBudgetMs: 1_500 });
  try {
    const lock = await holdWriteLock(file.url);
    // The first write finds the lock and backs off; the rest line up behind it.
    const write = (value: string, began: number) =>
      handle.client.execute({ sql: "INSERT INTO t (v) VALUES (?)", args: [value] }).then(
        () => ({ value, error: undefined, ms: performance.now() - began }),
        (error) => ({ value, error, ms: performance.now() - began }),
      );
    const first = write("w-first", performance.now());
    await new Promise((resolve) => setTimeout(resolve, 50));
    const began = performance.now();
    const rest = Array.from({ length: 3 * MAX_WAITING_WRITES }, (_, i) => write(`w-${i}`, began));
    const outcomes = await Promise.all([first, ...rest]);
    await lock.release();

    const refusedAtOnce = outcomes.filter((o) => o.error !== undefined && o.ms < 100);
    assert.ok(
      refusedAtOnce.length >= MAX_WAITING_WRITES,
      `${refusedAtOnce.length} writes refused at once`,
    );
    const committed = await committedValues(file.url);
    for (const { value, error } of outcomes) {
      if (error === undefined) assert.ok(committed.includes(value), `${value} was lost`);
      else {
        assert.ok(error instanceof DatabaseBusyError, String(error));
        assert.ok(!committed.includes(value), `${value} was refused, yet written`);
      }
    }
    // With the lock gone, writes go through again.
    await handle.client.execute("INSERT INTO t (v) VALUES ('after')");
    assert.ok((await committedValues(file.url)).includes("after"));
  } finally {
    handle.close();
  }
});

Deno.test("GET answers 200 over a real listener while 300 writes wait for another connection's lock", async () => {
  // 300 running captures in one environment: past the default running quota.
  await using t = await testContext({
    busyBudgetMs: 2_000,
    env: { QUOTA_RUNNING_CAPTURES_PER_ENVIRONMENT: "0" },
  });
  const env = await t.createEnvironment("owner");
  const { capture } = await postCapture(t, "owner", { name: "readable", envId: env.id });
  await using server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, t.app.fetch);
  const base = `http://127.0.0.1:${server.addr.port}`;
  const authorization = `Bearer ${await t.token("owner")}`;
  const other = createClient({ url: `file:${t.dbPath}` });
  const tx = await other.transaction("write");
  try {
    const writes = Array.from({ length: 300 }, (_, i) =>
      fetch(`${base}/api/captures`, {
        method: "POST",
        headers: { Authorization: authorization, "Content-Type": "application/json" },
        body: JSON.stringify({ name: `flood-${i}`, envId: env.id }),
      }).then(async (res) => ({ status: res.status, text: await res.text() })));
    // Past the writes waiting their turn, the rest are refused at once and free their slots.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    for (let i = 0; i < 5; i++) {
      const res = await fetch(`${base}/api/captures/${capture.id}`, {
        headers: { Authorization: authorization },
      });
      assert.equal(res.status, 200, await res.text());
    }
    await tx.rollback();
    const answers = await Promise.all(writes);
    assert.ok(answers.every((a) => a.status === 201 || a.status === 503), "201 or 503 only");
    const created = answers.filter((a) => a.status === 201).length;
    const list = await t.db.select().from(captures);
    assert.equal(list.length, created + 1, "exactly the acknowledged creates are stored");
  } finally {
    other.close();
  }
});
