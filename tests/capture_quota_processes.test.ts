// The capture quotas read counts the database keeps by trigger (environment_capture_counts), in the
// inserting statement: two processes on one file, racing 30 creates at once, admit exactly the
// quota, and the kept counts match the table afterwards.
import assert from "node:assert/strict";
import { openDatabase } from "../db/client.ts";
import { mintToken } from "../auth/mint.ts";
import { TEST_SECRET } from "./helpers/context.ts";
import { startTwoOnOneFile } from "./helpers/process.ts";

async function send(url: string, method: string, path: string, body?: unknown) {
  const token = await mintToken(TEST_SECRET, { sub: "alice" });
  const res = await fetch(url + path, {
    method,
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: await res.text() };
}

/** 30 creates of `body` (each its own name) at once, alternating between the two processes. */
async function race(urls: string[], envId: number, tag: string, body: Record<string, unknown>) {
  const answers = await Promise.all(
    Array.from(
      { length: 30 },
      (_, i) => send(urls[i % 2], "POST", "/api/captures", { name: `${tag}-${i}`, envId, ...body }),
    ),
  );
  const statuses = answers.map((a) => a.status);
  for (const a of answers) assert.ok(a.status === 201 || a.status === 429, a.body);
  return statuses.filter((s) => s === 201).length;
}

Deno.test("two processes racing creates admit exactly QUOTA_RUNNING_CAPTURES_PER_ENVIRONMENT, then QUOTA_CAPTURES_PER_ENVIRONMENT", async () => {
  await using both = await startTwoOnOneFile({
    QUOTA_CAPTURES_PER_ENVIRONMENT: "10",
    QUOTA_RUNNING_CAPTURES_PER_ENVIRONMENT: "4",
  });
  const urls = [both.a.url, both.b.url];
  const env = await send(both.a.url, "POST", "/api/environments", {
    name: "raced",
    region: "us-east-1",
    dbInstanceIdentifier: "raced-db",
  });
  assert.equal(env.status, 201, env.body);
  const envId = JSON.parse(env.body).id as number;

  // Running from now for an hour: each overlaps all the others.
  assert.equal(await race(urls, envId, "live", { duration: 3600 }), 4);
  // Finished an hour ago: no running quota, only the environment's 10 (4 taken).
  const past = { start: new Date(Date.now() - 7_200_000).toISOString(), duration: 3600 };
  assert.equal(await race(urls, envId, "past", past), 6);

  const handle = await openDatabase(`file:${both.a.dbPath}`);
  try {
    const counted = await handle.client.execute({
      sql: `SELECT count(*) AS captures, sum(status NOT IN ('DONE', 'FAILED')) AS live
            FROM captures WHERE env_id = ?`,
      args: [envId],
    });
    const kept = await handle.client.execute({
      sql: "SELECT captures, live FROM environment_capture_counts WHERE env_id = ?",
      args: [envId],
    });
    assert.deepEqual(
      [Number(counted.rows[0].captures), Number(counted.rows[0].live)],
      [10, 4],
    );
    assert.deepEqual([Number(kept.rows[0].captures), Number(kept.rows[0].live)], [10, 4]);
  } finally {
    handle.close();
  }
});
