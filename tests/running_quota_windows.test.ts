/**
 * Issue 17 review item 6: status follows from time, so QUOTA_RUNNING_CAPTURES_PER_ENVIRONMENT is
 * held when a capture's window is set (create, edit): at most N others may overlap it from now on.
 */
import assert from "node:assert/strict";
import type { Client, InStatement, InValue } from "@libsql/client";
import { drizzle } from "drizzle-orm/libsql/web";
import { insertCapture } from "../db/captures.ts";
import { openDatabase } from "../db/client.ts";
import { migrateDatabase } from "../db/migrate.ts";
import * as schema from "../db/schema.ts";
import { testContext } from "./helpers/context.ts";
import { assertProblem } from "./helpers/problem.ts";

const NOW = "2026-01-01T00:00:00Z";
const HOUR = 3_600_000;
const at = (hours: number) => new Date(Date.parse(NOW) + hours * HOUR).toISOString();

Deno.test("Scheduled captures whose windows overlap cannot exceed the running quota, on create and edit", async () => {
  await using t = await testContext({
    now: NOW,
    env: { QUOTA_RUNNING_CAPTURES_PER_ENVIRONMENT: "2" },
  });
  const env = await t.createEnvironment("alice");
  const post = (name: string, extra: Record<string, unknown>) =>
    t.as("alice").post("/api/captures", { envId: env.id, name, ...extra });
  // Two scheduled for 10:00–11:00: each overlaps one other, fine.
  for (const name of ["a", "b"]) {
    const res = await post(name, { scheduledStart: at(10), duration: 3600 });
    assert.equal(res.status, 201, await res.text());
  }
  // A third at 10:30 would make three run at once at 10:30: refused now, not when it starts.
  const third = await assertProblem(
    await post("c", { scheduledStart: at(10.5), duration: 3600 }),
    429,
  );
  assert.match(third.detail, /QUOTA_RUNNING_CAPTURES_PER_ENVIRONMENT/);
  // An open-ended one starting now overlaps everything after its start.
  await assertProblem(await post("open", {}), 429);
  // After their window it fits; moving it into their window is refused the same way.
  const later = await post("c", { scheduledStart: at(11), duration: 3600 });
  assert.equal(later.status, 201);
  const { id } = await later.json();
  const moved = await t.as("alice").patch(`/api/captures/${id}`, { scheduledStart: at(10.5) });
  assert.match((await assertProblem(moved, 429)).detail, /QUOTA_RUNNING/);
  const longer = await t.as("alice").patch(`/api/captures/${id}`, { duration: 7200 });
  assert.equal(longer.status, 200, await longer.text());
  // A capture running now counts until it ends (injected clock).
  const running = await post("now", { duration: 600 });
  assert.equal(running.status, 201);
  const seconds = await post("now-2", { duration: 600 });
  assert.equal(seconds.status, 201);
  await assertProblem(await post("now-3", { duration: 600 }), 429);
  t.clock.advance(601_000);
  assert.equal((await post("now-3", { duration: 600 })).status, 201);
});

Deno.test("The running quota's overlap count reads only the partial covering index of unfinished captures", async () => {
  const path = await Deno.makeTempFile({ prefix: "capwatch-plan-", suffix: ".db" });
  const handle = await openDatabase(`file:${path}`);
  try {
    await migrateDatabase(handle.db);
    const now = Date.parse(NOW);
    await handle.db.insert(schema.environments).values({
      id: 1,
      name: "e",
      region: "us-east-1",
      dbInstanceIdentifier: "db",
      ownerId: "alice",
      createdAt: now,
      updatedAt: now,
    });
    await handle.db.insert(schema.memberships)
      .values({ envId: 1, userId: "alice", role: "admin", createdAt: now });
    // Drizzle over the same client, recording the statements the client runs (the insert runs
    // its prepared SQL on the client itself, past drizzle's logger).
    const ran: { sql: string; params: unknown[] }[] = [];
    const client = handle.client;
    const recording: Client = new Proxy(client, {
      get(target, key) {
        if (key === "execute") {
          return (stmt: InStatement) => {
            if (typeof stmt === "object" && "sql" in stmt) {
              ran.push({ sql: stmt.sql, params: (stmt.args ?? []) as unknown[] });
            }
            return target.execute(stmt);
          };
        }
        const value = Reflect.get(target, key);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    const logged = drizzle(recording, { schema });
    const row = await insertCapture(
      logged,
      { envId: 1, ownerId: "alice", name: "live", status: "RUNNING", start: now, duration: 3600 },
      now,
      { perEnvironment: 100, runningPerEnvironment: 100 },
    );
    assert.equal(typeof row, "object");
    const insert = ran.find((q) => q.sql.startsWith('insert into "captures"'));
    assert.ok(insert, JSON.stringify(ran));
    const plan = await handle.client.execute({
      sql: `EXPLAIN QUERY PLAN ${insert.sql}`,
      args: insert.params as InValue[],
    });
    const details = plan.rows.map((r) => String(r.detail));
    assert.ok(
      details.some((d) => d.includes("COVERING INDEX captures_live_windows_by_env")),
      details.join("\n"),
    );
  } finally {
    handle.close();
    for (const suffix of ["", "-wal", "-shm"]) await Deno.remove(path + suffix).catch(() => {});
  }
});
