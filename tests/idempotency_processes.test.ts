/**
 * Idempotency-Key is kept in the database "so every instance sees it": two real capwatch processes
 * on one database file, one key sent to both at once, make one capture; a retry through either
 * process replays the first answer. Read back from a fresh connection.
 */
import assert from "node:assert/strict";
import { createClient } from "@libsql/client";
import { mintToken } from "../auth/mint.ts";
import { TEST_SECRET } from "./helpers/context.ts";
import { callJson, startTwoOnOneFile } from "./helpers/process.ts";

/** POST /api/captures with an Idempotency-Key over real HTTP. */
async function postWithKey(url: string, token: string, key: string, body: unknown) {
  const res = await fetch(`${url}/api/captures`, {
    method: "POST",
    headers: {
      Authorization: `Bearer ${token}`,
      "Content-Type": "application/json",
      "Idempotency-Key": key,
    },
    body: JSON.stringify(body),
  });
  return {
    status: res.status,
    replayed: res.headers.get("idempotent-replayed"),
    body: await res.json(),
  };
}

Deno.test("two processes on one file: one Idempotency-Key sent to both at once has one effect, and either replays it", async () => {
  await using servers = await startTwoOnOneFile({ JWT_SECRET: TEST_SECRET });
  const { a, b } = servers;
  const token = await mintToken(TEST_SECRET, { sub: "alice" });
  const env = await callJson(a.url, token, "POST", "/api/environments", {
    name: "shared",
    region: "us-east-1",
    dbInstanceIdentifier: "shared-db",
  });
  assert.equal(env.status, 201, JSON.stringify(env.body));
  const body = { name: "once", envId: env.body.id, scheduledStart: "2099-01-01T00:00:00Z" };

  const answers = await Promise.all(
    Array.from({ length: 12 }, (_, i) => postWithKey(i % 2 ? b.url : a.url, token, "k-1", body)),
  );
  for (const answer of answers) {
    assert.ok(
      answer.status === 201 ||
        (answer.status === 409 && answer.body.type === "/problems/idempotency-in-progress"),
      JSON.stringify(answer),
    );
  }
  const created = answers.filter((x) => x.status === 201);
  assert.ok(created.length >= 1, JSON.stringify(answers));
  assert.equal(new Set(created.map((x) => x.body.id)).size, 1, "every 201 names one capture");

  // A retry once the first answer is kept: replayed by either process, the same capture.
  for (const url of [a.url, b.url]) {
    const retry = await postWithKey(url, token, "k-1", body);
    assert.equal(retry.status, 201, JSON.stringify(retry.body));
    assert.equal(retry.replayed, "true");
    assert.equal(retry.body.id, created[0].body.id);
  }

  const client = createClient({ url: `file:${a.dbPath}` });
  try {
    const { rows } = await client.execute({
      sql: "SELECT count(*) AS n FROM captures WHERE name = ?",
      args: ["once"],
    });
    assert.equal(Number(rows[0].n), 1);
  } finally {
    client.close();
  }
});
