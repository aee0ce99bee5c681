// The production database path (Deno Deploy + Turso): openDatabase() with an http(s) URL uses
// @libsql/client/web, pure fetch speaking Hrana over HTTP. Here it talks to a fake Turso (a real
// HTTP server over a real libSQL file), so migrations, batches and the app run end to end.
import assert from "node:assert/strict";
import { eq } from "drizzle-orm";
import { openDatabase } from "../db/client.ts";
import { insertCapture, persistTransitions } from "../db/captures.ts";
import { insertEnvironment } from "../db/environments.ts";
import { pingDatabase } from "../db/health.ts";
import { migrateDatabase } from "../db/migrate.ts";
import { captures, memberships } from "../db/schema.ts";
import { startFakeTurso } from "./fakes/hrana.ts";
import { testContext } from "./helpers/context.ts";
import { type CaptureBody, MINUTE, NOW } from "./helpers/captures.ts";

const TOKEN = "turso-test-token";

/** The tables and indexes a database holds, by type and name. */
async function schemaObjects(client: { execute(sql: string): Promise<{ rows: unknown[] }> }) {
  const { rows } = await client.execute(
    "SELECT type, name FROM sqlite_master WHERE type IN ('table', 'index') " +
      "AND name NOT LIKE 'sqlite_%' ORDER BY type, name",
  );
  return rows.map((r) => {
    const { type, name } = r as { type: string; name: string };
    return `${type} ${name}`;
  });
}

/** A remote database on a fresh fake Turso, migrated. */
async function remote() {
  const turso = await startFakeTurso({ authToken: TOKEN });
  const database = await openDatabase(turso.url, TOKEN);
  await migrateDatabase(database.db);
  return {
    turso,
    ...database,
    async [Symbol.asyncDispose]() {
      database.close();
      await turso.close();
    },
  };
}

Deno.test("openDatabase() with an http URL migrates a remote database to the local schema", async () => {
  await using turso = await startFakeTurso({ authToken: TOKEN });
  const database = await openDatabase(turso.url, TOKEN);
  try {
    assert.equal(database.client.protocol, "http", "the pure-fetch web client");
    await migrateDatabase(database.db);
    const localPath = await Deno.makeTempFile({ suffix: ".db" });
    const local = await openDatabase(`file:${localPath}`);
    await migrateDatabase(local.db);
    const expected = await schemaObjects(local.client);
    local.close();
    await Deno.remove(localPath);
    for (const table of ["environments", "memberships", "captures", "capture_snapshots"]) {
      assert.ok(expected.includes(`table ${table}`), table);
    }
    assert.deepEqual(await schemaObjects(database.client), expected);
    const version = await pingDatabase(database.client);
    assert.ok(version >= 1);
    await migrateDatabase(database.db); // a second start applies nothing
    assert.equal(await pingDatabase(database.client), version);
    assert.ok(turso.requests > 0);
    assert.equal(turso.openStreams, 0, "every stream was closed");
  } finally {
    database.close();
  }
});

Deno.test("openDatabase() takes Turso's libsql:// form (here with ?tls=0, the fake has no TLS)", async () => {
  await using turso = await startFakeTurso({ authToken: TOKEN });
  const database = await openDatabase(turso.url.replace("http://", "libsql://") + "?tls=0", TOKEN);
  try {
    assert.equal(database.client.protocol, "http");
    const { rows } = await database.client.execute("SELECT 1 AS one");
    assert.equal(rows[0].one, 1);
  } finally {
    database.close();
  }
});

Deno.test("the fake speaks Hrana over HTTP: values, batch conditions, batons, errors", async () => {
  await using turso = await startFakeTurso({ authToken: TOKEN });
  const post = async (path: string, body: unknown) => {
    const res = await fetch(turso.url + path, {
      method: "POST",
      headers: { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: await res.json() };
  };
  const stmt = (sql: string, args: unknown[] = []) => ({ sql, args, want_rows: true });

  const first = await post("/v2/pipeline", {
    baton: null,
    requests: [
      {
        type: "execute",
        stmt: stmt("SELECT ?, 2.5, 'x', x'00ff', NULL", [{
          type: "integer",
          value: "9007199254740993",
        }]),
      },
      { type: "execute", stmt: stmt("SELECT nope") },
    ],
  });
  assert.equal(first.status, 200);
  const [values, failed] = first.body.results;
  assert.deepEqual(values.response.result.rows, [[
    { type: "integer", value: "9007199254740993" },
    { type: "float", value: 2.5 },
    { type: "text", value: "x" },
    { type: "blob", base64: "AP8=" },
    { type: "null" },
  ]]);
  assert.equal(failed.type, "error");
  assert.equal(failed.error.code, "SQLITE_ERROR");
  assert.match(failed.error.message, /^SQLite error: no such column: nope/);
  const baton = first.body.baton;
  assert.equal(typeof baton, "string");

  const batch = await post("/v3/pipeline", {
    baton,
    requests: [{
      type: "batch",
      batch: {
        steps: [
          { stmt: stmt("BEGIN") },
          { stmt: stmt("SELECT nope"), condition: { type: "ok", step: 0 } },
          { stmt: stmt("COMMIT"), condition: { type: "ok", step: 1 } },
          { stmt: stmt("SELECT 1"), condition: { type: "error", step: 1 } },
        ],
      },
    }, { type: "get_autocommit" }],
  });
  const result = batch.body.results[0].response.result;
  assert.deepEqual(result.step_results.map((r: unknown) => r !== null), [true, false, false, true]);
  assert.deepEqual(result.step_errors.map((e: unknown) => e !== null), [false, true, false, false]);
  assert.deepEqual(batch.body.results[1].response, {
    type: "get_autocommit",
    is_autocommit: false,
  });

  const reused = await post("/v2/pipeline", { baton, requests: [{ type: "close" }] });
  assert.deepEqual([reused.status, reused.body.code], [400, "BATON_INVALID"]);
  const closed = await post("/v2/pipeline", {
    baton: batch.body.baton,
    requests: [{ type: "close" }],
  });
  assert.deepEqual([closed.status, closed.body.baton], [200, null]);
  assert.equal(turso.openStreams, 0);
});

Deno.test("openDatabase() with a wrong or missing token fails its first query with HTTP 401", async () => {
  await using turso = await startFakeTurso({ authToken: TOKEN });
  for (const token of ["not-the-token", undefined]) {
    const database = await openDatabase(turso.url, token);
    try {
      await assert.rejects(migrateDatabase(database.db), (error: Error) => {
        const messages = [];
        for (let e: unknown = error; e instanceof Error; e = e.cause) messages.push(e.message);
        assert.match(messages.join(" | "), /HTTP status 401/, `token ${token}`);
        return true;
      });
      await assert.rejects(pingDatabase(database.client), /HTTP status 401/);
    } finally {
      database.close();
    }
  }
});

Deno.test("the fake keeps a transaction open across requests on one stream", async () => {
  await using db = await remote();
  const reader = await openDatabase(db.turso.url, TOKEN);
  try {
    const tx = await db.client.transaction("write");
    await tx.execute({
      sql: "INSERT INTO environments (name, region, db_instance_identifier, owner_id, " +
        "created_at, updated_at) VALUES (?, 'us-east-1', 'db-1', 'owner', 0, 0)",
      args: ["pending"],
    });
    const inside = await tx.execute("SELECT count(*) AS n FROM environments");
    assert.equal(Number(inside.rows[0].n), 1);
    const outside = await reader.client.execute("SELECT count(*) AS n FROM environments");
    assert.equal(Number(outside.rows[0].n), 0, "not visible before COMMIT");
    await tx.rollback();
    const after = await reader.client.execute("SELECT count(*) AS n FROM environments");
    assert.equal(Number(after.rows[0].n), 0, "rolled back");
    assert.equal(db.turso.openStreams, 0);
  } finally {
    reader.close();
  }
});

Deno.test("the fake makes a second writer wait for the write lock, as sqld does, not answer BUSY", async () => {
  await using db = await remote();
  const other = await openDatabase(db.turso.url, TOKEN);
  const insert = (name: string) => ({
    sql: "INSERT INTO environments (name, region, db_instance_identifier, owner_id, " +
      "created_at, updated_at) VALUES (?, 'us-east-1', 'db-1', 'owner', 0, 0)",
    args: [name],
  });
  try {
    const tx = await db.client.transaction("write");
    await tx.execute(insert("first"));
    let settled = false;
    const waiting = other.client.execute(insert("second")).finally(() => settled = true);
    const batch = other.client.batch([insert("third")], "write");
    // Awaited below; a BUSY answer must fail this test, not the whole file as unhandled.
    waiting.catch(() => {});
    batch.catch(() => {});
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(settled, false, "the second writer waits while the first holds the lock");
    await tx.commit();
    await waiting;
    await batch;
    const { rows } = await other.client.execute("SELECT name FROM environments ORDER BY id");
    assert.deepEqual(rows.map((r) => r.name).toSorted(), ["first", "second", "third"]);
    assert.equal(db.turso.openStreams, 0);
  } finally {
    other.close();
  }
});

Deno.test("insertEnvironment() over the remote client adds the creator as admin, all or nothing", async () => {
  await using db = await remote();
  const input = {
    name: "prod",
    region: "us-east-1",
    dbInstanceIdentifier: "prod-mysql-1",
    ownerId: "owner",
    accessKeyId: null,
    secretCiphertext: null,
  };
  const now = new Date(NOW);
  const env = await insertEnvironment(db.db, input, now);
  assert.ok(typeof env === "object", String(env));
  assert.equal(env.name, "prod");
  assert.equal(env.createdAt, now.getTime());
  assert.deepEqual(
    await db.db.select({ userId: memberships.userId, role: memberships.role }).from(memberships)
      .where(eq(memberships.envId, env.id)),
    [{ userId: "owner", role: "admin" }],
  );
  // Names are unique per owner: the same owner's second "prod" fails as a whole.
  const again = await insertEnvironment(db.db, input, now);
  assert.equal(again, "name_taken");
  assert.deepEqual(
    (await db.db.select().from(memberships)).map((m) => m.userId),
    ["owner"],
    "the failed batch left no membership behind",
  );
});

Deno.test("persistTransitions() over the remote client starts due captures and ends finished ones", async () => {
  await using db = await remote();
  const now = Date.parse(NOW);
  const env = await insertEnvironment(db.db, {
    name: "prod",
    region: "us-east-1",
    dbInstanceIdentifier: "prod-mysql-1",
    ownerId: "owner",
    accessKeyId: null,
    secretCiphertext: null,
  }, new Date(now - 60 * MINUTE));
  assert.ok(typeof env === "object", String(env));
  const base = { envId: env.id, ownerId: "owner", reason: null, end: null };
  const due = await insertCapture(db.db, {
    ...base,
    name: "due",
    status: "SCHEDULED",
    scheduledStart: now - MINUTE,
    start: null,
    duration: 3600,
  }, now - 30 * MINUTE);
  const ended = await insertCapture(db.db, {
    ...base,
    name: "ended",
    status: "RUNNING",
    scheduledStart: null,
    start: now - 20 * MINUTE,
    duration: 600,
  }, now - 20 * MINUTE);
  const later = await insertCapture(db.db, {
    ...base,
    name: "later",
    status: "SCHEDULED",
    scheduledStart: now + MINUTE,
    start: null,
    duration: 600,
  }, now - 20 * MINUTE);
  for (const row of [due, ended, later]) assert.ok(typeof row === "object", String(row));
  if (typeof due !== "object" || typeof ended !== "object") return;

  assert.deepEqual(await persistTransitions(db.db, now), {
    started: [due.id],
    finished: [ended.id],
  });
  assert.deepEqual(await persistTransitions(db.db, now), { started: [], finished: [] });
  const rows = await db.db.select().from(captures).orderBy(captures.id);
  assert.deepEqual(rows.map((r) => [r.name, r.status, r.start, r.end]), [
    ["due", "RUNNING", now - MINUTE, null],
    ["ended", "DONE", now - 20 * MINUTE, now - 10 * MINUTE],
    ["later", "SCHEDULED", null, null],
  ]);
});

Deno.test("the API over a remote database: environment, captures, stop races, delete, health", async () => {
  await using turso = await startFakeTurso({ authToken: TOKEN });
  await using t = await testContext({
    now: NOW,
    env: { DATABASE_URL: turso.url, DATABASE_AUTH_TOKEN: TOKEN },
  });
  assert.equal(t.client.protocol, "http");

  const health = await t.as(null).get("/health");
  assert.equal(health.status, 200);
  assert.deepEqual(await health.json(), {
    status: "ok",
    database: "ok",
    schemaVersion: await pingDatabase(t.client),
  });

  const env = await t.createEnvironment("owner", { name: "prod" });
  await t.addMember(env.id, "admin", "admin");
  const taken = await t.as("owner").post("/api/environments", {
    name: "prod",
    region: "us-east-1",
    dbInstanceIdentifier: "other",
  });
  assert.equal(taken.status, 409, await taken.text());

  const created = await t.as("owner").post("/api/captures", {
    name: "peak",
    envId: env.id,
    duration: 3600,
  });
  assert.equal(created.status, 201);
  const peak = await created.json() as CaptureBody;
  assert.equal(created.headers.get("location"), `/api/captures/${peak.id}`);
  assert.equal(peak.status, "RUNNING");
  const dup = await t.as("owner").post("/api/captures", { name: "peak", envId: env.id });
  assert.equal(dup.status, 409, await dup.text());
  const other = await t.as("owner").post("/api/captures", { name: "race", envId: env.id });
  assert.equal(other.status, 201);
  const race = await other.json() as CaptureBody;

  const list = await t.as("owner").get(`/api/captures?envId=${env.id}`);
  assert.equal(list.status, 200);
  assert.deepEqual((await list.json() as CaptureBody[]).map((c) => c.name), ["race", "peak"]);

  t.clock.advance(5 * MINUTE);
  const stopped = await t.as("owner").post(`/api/captures/${peak.id}/stop`);
  assert.equal(stopped.status, 200);
  assert.deepEqual(
    [(await stopped.json()).status, (await t.as("owner").get(`/api/captures/${peak.id}`)).status],
    ["DONE", 200],
  );
  const again = await t.as("owner").post(`/api/captures/${peak.id}/stop`);
  assert.equal(again.status, 409);
  await again.body?.cancel();

  const statuses = await Promise.all(
    Array.from({ length: 10 }, async (_, i) => {
      const res = await t.as(i % 2 ? "owner" : "admin").post(`/api/captures/${race.id}/stop`);
      await res.body?.cancel();
      return res.status;
    }),
  );
  assert.deepEqual(statuses.toSorted(), [200, ...Array(9).fill(409)]);
  const [raceRow] = await t.db.select().from(captures).where(eq(captures.id, race.id));
  assert.equal(raceRow.status, "DONE");
  assert.equal(raceRow.end, t.clock().getTime());

  const deleted = await t.as("owner").delete(`/api/captures/${peak.id}`);
  assert.equal(deleted.status, 204);
  const gone = await t.as("owner").get(`/api/captures/${peak.id}`);
  assert.equal(gone.status, 404);
  await gone.body?.cancel();
  const removeEnv = await t.as("owner").delete(`/api/environments/${env.id}`);
  assert.equal(removeEnv.status, 204, await removeEnv.text());
  assert.deepEqual(await t.db.select().from(captures), []);
  assert.equal(turso.openStreams, 0, "no stream left open");
});

Deno.test("openDatabase() for a remote URL needs neither FFI nor sys access (no native addon)", async () => {
  await using fake = await startFakeTurso({ authToken: TOKEN });
  const script = await Deno.makeTempFile({ suffix: ".ts" });
  const root = new URL("..", import.meta.url);
  await Deno.writeTextFile(
    script,
    `import { openDatabase } from "${new URL("db/client.ts", root)}";
import { migrateDatabase } from "${new URL("db/migrate.ts", root)}";
const handle = await openDatabase(Deno.args[0], Deno.args[1]);
await migrateDatabase(handle.db);
handle.close();
console.log("migrated");`,
  );
  try {
    // An edge runtime grants network, env and reading its own files; no FFI, no sys.
    const output = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        `--config=${new URL("deno.json", root).pathname}`,
        "--allow-net",
        "--allow-env",
        "--allow-read",
        script,
        fake.url,
        TOKEN,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(output.stderr);
    assert.equal(output.code, 0, stderr);
    assert.equal(new TextDecoder().decode(output.stdout).trim(), "migrated");
  } finally {
    await Deno.remove(script);
  }
});
