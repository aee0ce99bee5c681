import assert from "node:assert/strict";
import { eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/libsql";
import { createApp } from "../app.ts";
import * as schema from "../db/schema.ts";
import { captures } from "../db/schema.ts";
import { type TestContext, testContext } from "./helpers/context.ts";
import { remoteLike } from "./helpers/remote_like.ts";

const NOW = "2026-01-01T00:00:00Z";
const CALLERS = 20;

/** Serves the test app over real HTTP on a random port, on the context's database file. */
function serve(t: TestContext) {
  const app = createApp({ ...t.deps, db: drizzle(remoteLike(t.client), { schema }) });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, app.fetch);
  const base = `http://127.0.0.1:${server.addr.port}`;
  return {
    async request(user: string, method: string, path: string, body?: unknown) {
      const res = await fetch(base + path, {
        method,
        headers: {
          Authorization: `Bearer ${await t.token(user)}`,
          ...(body === undefined ? {} : { "Content-Type": "application/json" }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, type: res.headers.get("content-type") ?? "", body: text };
    },
    async [Symbol.asyncDispose]() {
      await server.shutdown();
    },
  };
}

const tally = (statuses: number[]) =>
  statuses.reduce<Record<number, number>>((acc, s) => ({ ...acc, [s]: (acc[s] ?? 0) + 1 }), {});

Deno.test("POST /api/captures/{id}/stop from 20 callers at once: exactly one 200, 19 409", async () => {
  await using t = await testContext({ now: NOW });
  await using http = serve(t);
  const env = await t.createEnvironment("owner");
  await t.addMember(env.id, "admin", "admin");
  const created = await http.request("owner", "POST", "/api/captures", {
    name: "peak",
    envId: env.id,
    duration: 3600,
  });
  assert.equal(created.status, 201, created.body);
  const { id } = JSON.parse(created.body);
  t.clock.advance(5 * 60_000);

  const answers = await Promise.all(
    Array.from(
      { length: CALLERS },
      (_, i) => http.request(i % 2 ? "owner" : "admin", "POST", `/api/captures/${id}/stop`),
    ),
  );
  assert.deepEqual(tally(answers.map((a) => a.status)), { 200: 1, 409: CALLERS - 1 });
  const winner = JSON.parse(answers.find((a) => a.status === 200)!.body);
  assert.equal(winner.status, "DONE");
  assert.equal(winner.end, t.clock().toISOString());
  for (const loser of answers.filter((a) => a.status === 409)) {
    assert.match(loser.type, /^application\/problem\+json/);
    assert.match(JSON.parse(loser.body).detail, /DONE/);
  }
  const [row] = await t.db.select().from(captures).where(eq(captures.id, id));
  assert.equal(row.status, "DONE");
  assert.equal(row.end, t.clock().getTime());
});

Deno.test("POST /api/captures from 20 callers at once with one name: exactly one 201, 19 409", async () => {
  await using t = await testContext({ now: NOW });
  await using http = serve(t);
  const env = await t.createEnvironment("owner");
  const users = ["owner", "mia", "max", "admin"];
  for (const user of users.slice(1)) await t.addMember(env.id, user, "member");

  const answers = await Promise.all(
    Array.from(
      { length: CALLERS },
      (_, i) =>
        http.request(users[i % users.length], "POST", "/api/captures", {
          name: "launch-day",
          envId: env.id,
          duration: 600,
        }),
    ),
  );
  assert.deepEqual(tally(answers.map((a) => a.status)), { 201: 1, 409: CALLERS - 1 });
  for (const loser of answers.filter((a) => a.status === 409)) {
    assert.match(loser.type, /^application\/problem\+json/);
    assert.match(JSON.parse(loser.body).detail, /launch-day/);
  }
  const winner = JSON.parse(answers.find((a) => a.status === 201)!.body);
  const rows = await t.db.select().from(captures).where(eq(captures.envId, env.id));
  assert.deepEqual(rows.map((r) => [r.id, r.name]), [[winner.id, "launch-day"]]);
});

Deno.test("DELETE /api/captures/{id} from 20 callers at once: exactly one 204, 19 404", async () => {
  await using t = await testContext({ now: NOW });
  await using http = serve(t);
  const env = await t.createEnvironment("owner");
  const created = await http.request("owner", "POST", "/api/captures", {
    name: "doomed",
    envId: env.id,
  });
  assert.equal(created.status, 201, created.body);
  const { id } = JSON.parse(created.body);
  const answers = await Promise.all(
    Array.from({ length: CALLERS }, () => http.request("owner", "DELETE", `/api/captures/${id}`)),
  );
  assert.deepEqual(tally(answers.map((a) => a.status)), { 204: 1, 404: CALLERS - 1 });
  assert.deepEqual(await t.db.select().from(captures).where(eq(captures.id, id)), []);
});
