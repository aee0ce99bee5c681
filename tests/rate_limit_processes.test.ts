// The metrics rate limit across real capwatch processes on one libSQL file: each process adds
// the requests it counted to the shared row at most every RATE_LIMIT_FLUSH_MS, so requests spaced
// further apart than that see every other process's requests (db/rate_limits.ts).
import assert from "node:assert/strict";
import { mintToken } from "../auth/mint.ts";
import { RATE_LIMIT_FLUSH_MS } from "../db/rate_limits.ts";
import { TEST_SECRET } from "./helpers/context.ts";
import { callText, startTwoOnOneFile } from "./helpers/process.ts";

const LIMIT = 4;
const MINUTE = 60_000;
const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

Deno.test("two processes spend one user's metrics quota together: exactly QUOTA_METRICS_REQUESTS_PER_MINUTE answers, then 429 from either", async () => {
  await using servers = await startTwoOnOneFile({
    QUOTA_METRICS_REQUESTS_PER_MINUTE: String(LIMIT),
  });
  const { a, b } = servers;
  const alice = await mintToken(TEST_SECRET, { sub: "alice", ttlSeconds: 600 });
  const bob = await mintToken(TEST_SECRET, { sub: "bob", ttlSeconds: 600 });
  const env = await callText(a.url, alice, "POST", "/api/environments", {
    name: "limits",
    region: "us-east-1",
    dbInstanceIdentifier: "limits-db",
  });
  assert.equal(env.status, 201, env.text);
  // Scheduled for tomorrow: its metrics answer 409, and each request still spends the quota.
  const created = await callText(b.url, alice, "POST", "/api/captures", {
    envId: JSON.parse(env.text).id,
    name: "tomorrow",
    scheduledStart: new Date(Date.now() + 24 * 3_600_000).toISOString(),
  });
  assert.equal(created.status, 201, created.text);
  const metrics = `/api/captures/${JSON.parse(created.text).id}/metrics`;

  // The window is the wall clock's minute: start early in one, so the whole run stays in it.
  const intoMinute = Date.now() % MINUTE;
  if (intoMinute > 45_000) await delay(MINUTE - intoMinute + 200);
  const windowOf = () => Math.floor(Date.now() / MINUTE);
  const window = windowOf();

  const answers: { server: string; status: number; remaining: string | null }[] = [];
  for (let i = 0; i < 2 * LIMIT; i++) {
    const [name, server] = i % 2 === 0 ? ["a", a] : ["b", b];
    const res = await callText(server.url, alice, "GET", metrics);
    const remaining = /r=(\d+)/.exec(res.headers.get("ratelimit") ?? "")?.[1] ?? null;
    answers.push({ server: name, status: res.status, remaining });
    await delay(RATE_LIMIT_FLUSH_MS + 100);
  }
  assert.equal(windowOf(), window, "the run crossed a minute boundary; run it again");
  assert.deepEqual(
    answers.map(({ status }) => status),
    [...Array(LIMIT).fill(409), ...Array(LIMIT).fill(429)],
    JSON.stringify(answers),
  );
  // Each answer counts the other process's requests: the remaining allowance falls by one each
  // time, whichever process answers.
  assert.deepEqual(
    answers.slice(0, LIMIT).map(({ remaining }) => remaining),
    Array.from({ length: LIMIT }, (_, i) => String(LIMIT - 1 - i)),
  );
  assert.ok(answers.slice(LIMIT).every(({ remaining }) => remaining === "0"));
  // Another user has an allowance of their own, in both processes.
  for (const server of [a, b]) {
    const res = await callText(server.url, bob, "GET", metrics);
    // bob is no member: 404, but not 429.
    assert.equal(res.status, 404, res.text);
  }
});
