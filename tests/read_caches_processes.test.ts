// Real capwatch processes on one libSQL file: the metrics answer cache, the list body
// memo, the remembered capture answer and the read cache under another process's writes, and the
// rate limit on cached answers.
import assert from "node:assert/strict";
import { mintToken } from "../auth/mint.ts";
import { openDatabase } from "../db/client.ts";
import { captureSnapshots, captureSnapshotSeries } from "../db/schema.ts";
import { METRIC_TYPES } from "../metrics/catalogue.ts";
import { TEST_SECRET } from "./helpers/context.ts";
import { callText, startTwoOnOneFile } from "./helpers/process.ts";

const HOUR = 3_600_000;

/** Registers an environment as `token`'s user on the server at `url`; answers its id. */
async function createEnvironment(url: string, token: string, name: string): Promise<number> {
  const created = await callText(url, token, "POST", "/api/environments", {
    name,
    region: "us-east-1",
    dbInstanceIdentifier: `${name}-db`,
  });
  assert.equal(created.status, 201, created.text);
  return JSON.parse(created.text).id;
}

Deno.test("GET /api/captures/{id}/metrics and GET /api/captures: cached answers follow another process's writes", async () => {
  await using servers = await startTwoOnOneFile({ QUOTA_METRICS_REQUESTS_PER_MINUTE: "6" });
  const { a, b } = servers;
  const owner = await mintToken(TEST_SECRET, { sub: "owner", ttlSeconds: 600 });
  const guest = await mintToken(TEST_SECRET, { sub: "guest", ttlSeconds: 600 });
  const env = { id: await createEnvironment(a.url, owner, "r") };
  assert.equal(
    (await callText(a.url, owner, "PUT", `/api/environments/${env.id}/members/guest`, {
      role: "member",
    })).status,
    201,
  );
  const end = Math.floor((Date.now() - 2 * HOUR) / 60_000) * 60_000;
  const start = end - HOUR;
  const created = await callText(a.url, owner, "POST", "/api/captures", {
    envId: env.id,
    name: "done",
    start: new Date(start).toISOString(),
    duration: 3600,
  });
  assert.equal(created.status, 201, created.text);
  const id = JSON.parse(created.text).id;
  // Store its snapshot through a third connection, as the sweeper of either would.
  const handle = await openDatabase(`file:${a.dbPath}`);
  await handle.db.insert(captureSnapshots).values({
    captureId: id,
    period: 60,
    start,
    end,
    complete: true,
    takenAt: end,
  });
  await handle.db.insert(captureSnapshotSeries).values(METRIC_TYPES.map((type) => ({
    captureId: id,
    stat: "Average",
    type,
    label: type,
    unit: "None",
    complete: true,
    datapoints: JSON.stringify(
      Array.from({ length: 60 }, (_, i) => [start / 1000 + 60 * i, 7]),
    ),
  })));
  const metrics = `/api/captures/${id}/metrics?type=CPUUtilization`;
  const first = await callText(a.url, guest, "GET", metrics);
  assert.equal(first.status, 200, first.text);
  const second = await callText(a.url, guest, "GET", metrics);
  assert.equal(second.text, first.text);
  assert.match(second.headers.get("ratelimit") ?? "", /r=4/, "cached answers still count");
  assert.ok(second.headers.get("ratelimit-policy"));
  // The guest loses membership in B: A must stop answering them, list and metrics alike.
  const listA = () => callText(a.url, guest, "GET", "/api/captures?limit=5");
  assert.equal(JSON.parse((await listA()).text).length, 1);
  assert.equal(JSON.parse((await listA()).text).length, 1);
  assert.equal(
    (await callText(b.url, owner, "DELETE", `/api/environments/${env.id}/members/guest`)).status,
    204,
  );
  assert.equal((await callText(a.url, guest, "GET", metrics)).status, 404);
  assert.equal((await listA()).text, "[]");
  // The owner's cached answer in A; then B deletes the capture.
  assert.equal((await callText(a.url, owner, "GET", metrics)).status, 200);
  assert.equal((await callText(b.url, owner, "DELETE", `/api/captures/${id}`)).status, 204);
  assert.equal((await callText(a.url, owner, "GET", metrics)).status, 404);
  // Past the quota (shared across processes, flushed at most every 250 ms) cached answers are 429.
  await new Promise((r) => setTimeout(r, 300));
  let last = 0;
  for (let i = 0; i < 8; i++) last = (await callText(a.url, owner, "GET", metrics)).status;
  assert.equal(last, 429);
  handle.close();
});

Deno.test("GET /api/captures: a remembered list body turns RUNNING into DONE when the window ends", async () => {
  await using servers = await startTwoOnOneFile();
  const { a } = servers;
  const owner = await mintToken(TEST_SECRET, { sub: "owner", ttlSeconds: 600 });
  const env = { id: await createEnvironment(a.url, owner, "t") };
  const endsAt = Date.now() + 2_500;
  const created = await callText(a.url, owner, "POST", "/api/captures", {
    envId: env.id,
    name: "ending",
    start: new Date(endsAt - 60_000).toISOString(),
    duration: 60,
  });
  assert.equal(created.status, 201, created.text);
  const status = async () =>
    JSON.parse((await callText(a.url, owner, "GET", "/api/captures")).text)[0].status;
  for (let i = 0; i < 4; i++) assert.equal(await status(), "RUNNING");
  await new Promise((r) => setTimeout(r, Math.max(0, endsAt - Date.now()) + 50));
  assert.equal(await status(), "DONE");
});

Deno.test("GET /api/captures/{id}: a remembered answer follows another process's edit", async () => {
  await using servers = await startTwoOnOneFile();
  const { a, b } = servers;
  const owner = await mintToken(TEST_SECRET, { sub: "owner", ttlSeconds: 600 });
  const env = { id: await createEnvironment(a.url, owner, "g") };
  const created = await callText(a.url, owner, "POST", "/api/captures", {
    envId: env.id,
    name: "before",
    scheduledStart: new Date(Date.now() + 24 * HOUR).toISOString(),
    duration: 600,
  });
  assert.equal(created.status, 201, created.text);
  const path = `/api/captures/${JSON.parse(created.text).id}`;
  // Read three times in A: from the second read on, A answers its remembered body and ETag.
  const reads = [];
  for (let i = 0; i < 3; i++) reads.push(await callText(a.url, owner, "GET", path));
  for (const read of reads) assert.equal(read.text, reads[0].text);
  const etag = reads[0].headers.get("etag")!;
  const edited = await fetch(`${b.url}${path}`, {
    method: "PATCH",
    headers: {
      Authorization: `Bearer ${owner}`,
      "Content-Type": "application/json",
      "If-Match": etag,
    },
    body: JSON.stringify({ name: "after" }),
  });
  assert.equal(edited.status, 200, await edited.text());
  const after = await callText(a.url, owner, "GET", path);
  assert.equal(JSON.parse(after.text).name, "after");
  assert.notEqual(after.headers.get("etag"), etag);
  const conditional = await fetch(`${a.url}${path}`, {
    headers: { Authorization: `Bearer ${owner}`, "If-None-Match": etag },
  });
  assert.equal(conditional.status, 200, "the old ETag is no longer current");
  await conditional.body?.cancel();
});
