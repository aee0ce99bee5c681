// A 201 is a promise: what POST acknowledged is there for a fresh process after kill -9, with
// the hot path's prepared statements, batched log lines and lock fast path in between.
import assert from "node:assert/strict";
import { mintToken } from "../auth/mint.ts";
import { TEST_SECRET } from "./helpers/context.ts";
import { startServer } from "./helpers/process.ts";

async function send(url: string, user: string, method: string, path: string, body?: unknown) {
  const token = await mintToken(TEST_SECRET, { sub: user });
  return fetch(url + path, {
    method,
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

Deno.test("captures acknowledged with 201 are read back by a fresh process after SIGKILL", async () => {
  await using first = await startServer();
  const envRes = await send(first.url, "alice", "POST", "/api/environments", {
    name: "durable",
    region: "us-east-1",
    dbInstanceIdentifier: "durable-db",
  });
  assert.equal(envRes.status, 201, await envRes.clone().text());
  const env = await envRes.json();
  const answers = await Promise.all(
    Array.from({ length: 40 }, (_, i) =>
      send(first.url, "alice", "POST", "/api/captures", {
        name: `durable-${i}`,
        envId: env.id,
        duration: 3600,
      })),
  );
  const created: { id: number; name: string }[] = [];
  for (const res of answers) {
    assert.equal(res.status, 201, await res.clone().text());
    created.push(await res.json());
  }
  // No shutdown, no flush: the process is gone the moment the last 201 arrived.
  first.kill("SIGKILL");
  assert.equal((await first.status).signal, "SIGKILL");

  await using second = await startServer({ DATABASE_URL: `file:${first.dbPath}` });
  for (const capture of created) {
    const res = await send(second.url, "alice", "GET", `/api/captures/${capture.id}`);
    assert.equal(res.status, 200, `capture ${capture.id}: ${await res.clone().text()}`);
    assert.equal((await res.json()).name, capture.name);
  }
});
