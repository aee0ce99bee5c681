// Many instances, one database (issue 9): real capwatch processes of this build share one libSQL
// file (or one fake Turso) under bounded concurrent mixed load, one is SIGKILLed, a foreign
// process holds the write lock; afterwards every acknowledged write must be there.
// CAPWATCH_MP_ROUNDS sets how many rounds the local test runs (default 1), and
// CAPWATCH_MP_LOCK_HOLD_MS how long the foreign process holds the lock (default 6500: past the
// 5 s busy budget, so writes waiting for it answer 503 and the test proves they wrote nothing).
import { DEFAULT_BUSY_BUDGET_MS } from "../db/local_client.ts";
import assert from "node:assert/strict";
import { createClient } from "@libsql/client";
import { mintToken } from "../auth/mint.ts";
import { METRIC_TYPES } from "../metrics/catalogue.ts";
import { SNAPSHOT_STATS } from "../metrics/snapshot_series.ts";
import { fakeCloudWatchEnv, startFakeCloudWatch } from "./fakes/cloudwatch.ts";
import { startFakeTurso } from "./fakes/hrana.ts";
import { TEST_SECRET } from "./helpers/context.ts";
import { capturesViaApi, capturesViaFile, checkLedger, tally } from "./helpers/ledger_check.ts";
import { type Ledger, runMixedLoad } from "./helpers/mixed_load.ts";
import { type Child, logLines, spawnDeno, taskArgs, within } from "./helpers/process.ts";

const ROUNDS = Number(Deno.env.get("CAPWATCH_MP_ROUNDS") ?? "1");
const ADMIN = "mp-admin";
const USERS = [ADMIN, "mp-member-1", "mp-member-2"];
/** Longer than any sane driver busy timeout, so waiting inside the driver cannot hide it. */
const LOCK_HOLD_MS = Number(Deno.env.get("CAPWATCH_MP_LOCK_HOLD_MS") ?? "6500");

type Instance = Child & { url: string };
const startArgs = await taskArgs("start");

/** Starts `count` capwatch processes at once (`deno task start`'s permissions) on `env`. */
async function startTogether(count: number, env: Record<string, string>): Promise<Instance[]> {
  const children = Array.from({ length: count }, () =>
    spawnDeno(startArgs, {
      PORT: "0",
      HOST: "127.0.0.1",
      JWT_SECRET: TEST_SECRET,
      ...env,
    }));
  const started = await Promise.allSettled(children.map(async (child) => {
    const line = await child.waitForLine((l) => l.includes('"msg":"listening"'), 60_000);
    return Object.assign(child, { url: JSON.parse(line).url as string });
  }));
  const failed = started.find((s) => s.status === "rejected");
  if (failed) {
    for (const child of children) child.kill("SIGKILL");
    await Promise.all(children.map((c) => c.status));
    throw failed.reason;
  }
  return started.map((s) => (s as PromiseFulfilledResult<Instance>).value);
}

/**
 * Starts `count` processes at once on a fresh database, so they also race to migrate it (drizzle's
 * migrator reads the applied migrations outside its batch; db/migrate.ts retries the loser).
 */
function startInstances(count: number, env: Record<string, string>): Promise<Instance[]> {
  return startTogether(count, env);
}

/** SIGTERMs the survivors, waits for every exit, and answers their "unhandled error" lines. */
async function stopAll(instances: Instance[]): Promise<string[]> {
  for (const i of instances) i.kill("SIGTERM");
  await within(Promise.all(instances.map((i) => i.status)), 20_000, "the instances exiting");
  return instances.flatMap((i) =>
    logLines(i).filter((l) => l.msg === "unhandled error").map((l) => JSON.stringify(l))
  );
}

/** A JSON call as `user`; throws unless it answers `expect`. */
async function call(
  url: string,
  user: string,
  method: string,
  path: string,
  body: unknown,
  expect: number,
) {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: {
      Authorization: `Bearer ${await mintToken(TEST_SECRET, { sub: user })}`,
      "Content-Type": "application/json",
    },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status !== expect) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

/** One environment administered by ADMIN with the other USERS as members; answers its id. */
async function setUpEnvironment(url: string, name: string): Promise<number> {
  const env = await call(url, ADMIN, "POST", "/api/environments", {
    name,
    region: "us-east-1",
    dbInstanceIdentifier: "mp-db",
  }, 201);
  for (const user of USERS.slice(1)) {
    await call(url, ADMIN, "PUT", `/api/environments/${env.id}/members/${user}`, {
      role: "member",
    }, 201);
  }
  return env.id;
}

/** Prints the round's numbers (the closing note needs them), then asserts them. */
function report(
  label: string,
  ledger: Ledger,
  checks: Array<{ lost: string[]; doubled: string[] }>,
  window?: { from: number; to: number },
) {
  const t = tally(ledger, window);
  const lost = Math.max(...checks.map((c) => c.lost.length));
  const doubled = Math.max(...checks.map((c) => c.doubled.length));
  console.log(
    `  ${label}: ${t.requests} requests, acknowledged writes ${t.acknowledged} ` +
      `(201 ${t.acks.created}, stop ${t.acks.stopped}, edit ${t.acks.edited}, ` +
      `204 ${t.acks.deleted}), lost ${lost}, doubled ${doubled}, 500s ${t.errors500}, ` +
      `503s ${t.busy503}, connection errors ${t.connectionErrors}` +
      (window
        ? `, read p99 during lock hold ${Math.round(t.heldReadP99)} ms (${t.heldReads})`
        : ""),
  );
  const problems = checks.flatMap((c) => [...c.lost, ...c.doubled]);
  assert.deepEqual(problems.slice(0, 20), [], `${problems.length} contradicted acknowledgements`);
  assert.equal(t.errors500, 0, "no 5xx but 503");
  assert.equal(t.unretryable503, 0, "every 503 carries Retry-After");
  assert.ok(t.acks.created > 50 && t.acks.stopped > 10 && t.acks.edited > 10, "the load wrote");
  return t;
}

Deno.test("three processes on one file: SIGKILL and a foreign write lock lose no acknowledged write", async () => {
  for (let round = 1; round <= ROUNDS; round++) {
    const dir = await Deno.makeTempDir({ prefix: "capwatch-mp-" });
    const dbPath = `${dir}/capwatch.db`;
    const instances = await startInstances(3, { DATABASE_URL: `file:${dbPath}` });
    let holder: Child | undefined;
    try {
      const envId = await setUpEnvironment(instances[0].url, `mp-${round}`);
      const hold = { state: "waiting", from: NaN, to: NaN };
      const startHold = async () => {
        hold.state = "starting";
        holder = spawnDeno([
          "run",
          "--allow-read",
          "--allow-write",
          "--allow-env",
          "--allow-ffi",
          "--allow-sys",
          "tests/helpers/lock_holder.ts",
          dbPath,
          String(LOCK_HOLD_MS),
        ]);
        try {
          await holder.waitForLine((l) => l.includes('"locked"'), 20_000);
          hold.from = performance.now();
          await holder.waitForLine((l) => l.includes('"released"'), LOCK_HOLD_MS + 5000);
          hold.to = performance.now();
        } finally {
          hold.state = "done";
        }
      };
      const total = 1500;
      const ledger = await runMixedLoad({
        targets: instances.map((i) => i.url),
        envId,
        users: USERS,
        admin: ADMIN,
        round,
        total,
        concurrency: 15,
        readers: 3,
        maxMs: 25_000,
        at: [
          { sent: total * 0.2, ms: 4000, run: () => startHold().catch(() => {}) },
          { sent: total * 0.5, ms: 10_000, run: () => instances[2].kill("SIGKILL") },
        ],
        keepGoing: () => hold.state !== "done",
      });
      const holderStatus = await within(holder!.status, 20_000, "the lock holder exiting");
      const api = await capturesViaApi(instances[0].url, envId, ADMIN);
      const file = await capturesViaFile(dbPath, envId);
      const unhandled = await stopAll(instances);
      const t = report(`file round ${round}/${ROUNDS}`, ledger, [
        checkLedger(ledger, api, "survivor API"),
        checkLedger(ledger, file.seen, "file"),
      ], hold);
      assert.equal(holderStatus.code, 0, `the lock holder: ${holder!.stdout.join(" ")}`);
      assert.equal(file.integrity, "ok");
      assert.deepEqual(unhandled.slice(0, 5), [], "no unhandled error in the logs");
      assert.ok(t.heldReads >= 10, `reads sent during the lock hold: ${t.heldReads}`);
      assert.ok(t.heldReadP99 < 1000, `read p99 during the lock hold: ${t.heldReadP99} ms`);
      if (LOCK_HOLD_MS > DEFAULT_BUSY_BUDGET_MS + 1000) {
        assert.ok(t.busy503 > 0, "a lock held past the busy budget answers some writes 503");
      }
    } finally {
      holder?.kill("SIGKILL");
      await holder?.status;
      for (const i of instances) i.kill("SIGKILL");
      await Promise.all(instances.map((i) => i.status));
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  }
});

Deno.test("two processes on one fake Turso lose no acknowledged write", async () => {
  await using turso = await startFakeTurso();
  const instances = await startInstances(2, { DATABASE_URL: turso.url });
  try {
    const envId = await setUpEnvironment(instances[0].url, "mp-remote");
    const ledger = await runMixedLoad({
      targets: instances.map((i) => i.url),
      envId,
      users: USERS,
      admin: ADMIN,
      round: 1,
      total: 600,
      concurrency: 15,
      maxMs: 15_000,
    });
    const api = await capturesViaApi(instances[1].url, envId, ADMIN);
    const file = await capturesViaFile(turso.path, envId);
    const unhandled = await stopAll(instances);
    report("fake Turso", ledger, [
      checkLedger(ledger, api, "survivor API"),
      checkLedger(ledger, file.seen, "file"),
    ]);
    assert.equal(file.integrity, "ok");
    assert.deepEqual(unhandled.slice(0, 5), [], "no unhandled error in the logs");
  } finally {
    for (const i of instances) i.kill("SIGKILL");
    await Promise.all(instances.map((i) => i.status));
  }
});

Deno.test("three processes starting at once snapshot a finished capture with one fetch per stat", async () => {
  // Each answer takes a second, so instances that all fetch are in flight together.
  await using fake = await startFakeCloudWatch({ latencyMs: 1000 });
  const dir = await Deno.makeTempDir({ prefix: "capwatch-mp-snapshot-" });
  const dbPath = `${dir}/capwatch.db`;
  const env = { DATABASE_URL: `file:${dbPath}`, ...fakeCloudWatchEnv(fake) };
  try {
    // One process migrates and takes the capture; its start-up sweep ran before the capture
    // existed, and the next is a minute away, so it is stopped before any sweep can see it.
    while (new Date().getSeconds() > 50) await new Promise((r) => setTimeout(r, 500));
    const [first] = await startInstances(1, env);
    await first.waitForLine((l) => l.includes('"sweeper started"'));
    const envId = await setUpEnvironment(first.url, "mp-snapshot");
    const capture = await call(first.url, ADMIN, "POST", "/api/captures", {
      name: "finished",
      envId,
      start: new Date(Date.now() - 60 * 60_000).toISOString(),
      duration: 1800,
    }, 201);
    assert.equal(capture.status, "DONE");
    await stopAll([first]);
    assert.equal(fake.calls.length, 0, "nothing fetched before the three start");

    const instances = await startTogether(3, env);
    const db = createClient({ url: `file:${dbPath}` });
    try {
      const deadline = Date.now() + 15_000;
      let stored = 0;
      while (stored === 0 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 200));
        const { rows } = await db.execute("SELECT count(*) AS n FROM capture_snapshots");
        stored = Number(rows[0].n);
      }
      assert.equal(stored, 1, "the snapshot was stored");
    } finally {
      db.close();
      // SIGTERM waits for each instance's sweep in flight, so every fetch is counted.
      const unhandled = await stopAll(instances);
      assert.deepEqual(unhandled, []);
    }
    const fetched = fake.calls.filter((c) => c.target?.endsWith("GetMetricData"));
    const perStat = Object.groupBy(fetched, (c) => c.body.MetricDataQueries[0].MetricStat.Stat);
    console.log(
      `  snapshot: ${fetched.length} GetMetricData calls by 3 instances for ` +
        `${SNAPSHOT_STATS.length} stats × ${METRIC_TYPES.length} series`,
    );
    assert.deepEqual(
      Object.fromEntries(SNAPSHOT_STATS.map((s) => [s, perStat[s]?.length ?? 0])),
      Object.fromEntries(SNAPSHOT_STATS.map((s) => [s, 1])),
      "one fetch per stat (each carries every series), not one per instance",
    );
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
