import assert from "node:assert/strict";
import { and, eq } from "drizzle-orm";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { captureSnapshotSeries } from "../db/schema.ts";
import { createSweeper } from "../lifecycle/sweeper.ts";
import { METRIC_TYPES } from "../metrics/catalogue.ts";
import { createSnapshotter } from "../metrics/snapshotter.ts";
import { fakeCloudWatchEnv, startFakeCloudWatch } from "./fakes/cloudwatch.ts";
import { testContext } from "./helpers/context.ts";

// Two routine changes that used to type-check and then fail at run time (issue 15): a new column
// on captures, and a metric added to the catalogue after captures were snapshotted.

const ROOT = fileURLToPath(new URL("../", import.meta.url));

/** A copy of the project's source (no node_modules, no config) in a temp folder. */
async function scratchCopy(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "capwatch-scratch-" });
  const listed = new Deno.Command("git", {
    args: ["ls-files", "--cached", "--others", "--exclude-standard", "-z"],
    cwd: ROOT,
    stdout: "piped",
  }).outputSync();
  const files = new TextDecoder().decode(listed.stdout).split("\0")
    // Without deno.json the copy resolves bare imports through this project's import map.
    .filter((f) => f !== "" && f !== "deno.json" && f !== "deno.lock");
  for (const file of files) {
    await Deno.mkdir(join(dir, dirname(file)), { recursive: true });
    await Deno.copyFile(join(ROOT, file), join(dir, file)).catch((error) => {
      if (!(error instanceof Deno.errors.NotFound)) throw error; // deleted, not yet committed
    });
  }
  return dir;
}

Deno.test("a new nullable column on captures: POST /api/captures still answers 201 and stores it as NULL", async () => {
  const dir = await scratchCopy();
  try {
    // The change a developer makes: one nullable column in the schema (and its migration).
    const schemaPath = join(dir, "db/schema.ts");
    const schema = await Deno.readTextFile(schemaPath);
    const grown = schema.replace(
      '  reason: text("reason"),\n',
      '  reason: text("reason"),\n  notes: text("notes"),\n',
    );
    assert.notEqual(grown, schema, "the schema's captures table moved; update this test");
    await Deno.writeTextFile(schemaPath, grown);

    const scratch = await import(join(dir, "tests/helpers/context.ts")) as {
      testContext: typeof testContext;
    };
    await using t = await scratch.testContext({ now: "2026-01-15T12:00:00Z" });
    await t.client.execute("ALTER TABLE captures ADD COLUMN notes text");
    const env = await t.createEnvironment("owner");

    for (const body of [{ duration: 3600 }, { scheduledStart: "2026-01-16T00:00:00Z" }]) {
      const res = await t.as("owner").post("/api/captures", {
        name: `grown-${crypto.randomUUID().slice(0, 8)}`,
        envId: env.id,
        ...body,
      });
      const text = await res.text();
      assert.equal(res.status, 201, text);
      const { id } = JSON.parse(text) as { id: number };
      const row = await t.client.execute({
        sql: "SELECT notes, snapshot_attempts FROM captures WHERE id = ?",
        args: [id],
      });
      assert.deepEqual({ ...row.rows[0] }, { notes: null, snapshot_attempts: 0 });
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a capture whose snapshot lacks a catalogue metric answers its default metrics request 200, that series from CloudWatch", async () => {
  await using fake = await startFakeCloudWatch();
  await using t = await testContext({ now: "2026-01-15T12:00:00Z", env: fakeCloudWatchEnv(fake) });
  const env = await t.createEnvironment("owner");
  const created = await t.as("owner").post("/api/captures", {
    name: "before-the-catalogue-grew",
    envId: env.id,
    start: "2026-01-15T10:00:00Z",
    duration: 3600,
  });
  assert.equal(created.status, 201);
  const capture = await created.json() as { id: number };
  const snapshotter = createSnapshotter({
    db: t.db,
    cloudwatch: t.deps.cloudwatch,
    serverCredentials: t.config.awsCredentials,
    cipher: t.deps.credentialsCipher,
    logger: t.deps.logger,
  });
  const sweeper = createSweeper({ db: t.db, clock: t.clock, logger: t.deps.logger, snapshotter });
  assert.deepEqual((await sweeper.sweepOnce()).snapshots, { stored: 1, failed: 0 });

  // The snapshot as one taken before SwapUsage joined the catalogue: no row for it.
  const newest = METRIC_TYPES[METRIC_TYPES.length - 1];
  await t.db.delete(captureSnapshotSeries).where(and(
    eq(captureSnapshotSeries.captureId, capture.id),
    eq(captureSnapshotSeries.type, newest),
  ));
  const callsBefore = fake.calls.length;

  const res = await t.as("owner").get(`/api/captures/${capture.id}/metrics`);
  const text = await res.text();
  assert.equal(res.status, 200, text);
  const body = JSON.parse(text) as {
    source: string;
    series: Array<{ type: string; datapoints: unknown[] }>;
  };
  assert.equal(body.source, "cloudwatch");
  assert.deepEqual(body.series.map((s) => s.type), [...METRIC_TYPES]);
  assert.equal(body.series.at(-1)!.datapoints.length, 60);
  assert.equal(fake.calls.length, callsBefore + 1);

  // A request the snapshot still holds entirely is served from it, without CloudWatch.
  const held = await t.as("owner").get(`/api/captures/${capture.id}/metrics?type=CPUUtilization`);
  assert.equal(held.status, 200);
  assert.equal((await held.json() as { source: string }).source, "snapshot");
  assert.equal(fake.calls.length, callsBefore + 1);
});
