// Benchmark databases seeded in SQL (a million captures in seconds, not via the API), kept under
// data/bench/ so later runs copy them instead of seeding again.
import { openDatabase } from "../db/client.ts";
import { migrateDatabase } from "../db/migrate.ts";
import { METRIC_TYPES, metricInfo } from "../metrics/catalogue.ts";

/** Bumped when the seed's shape changes, so an older cached file is not reused. */
const SEED_VERSION = 1;
const CACHE_DIR = new URL("../data/bench/", import.meta.url).pathname;
/** The one user of the seeded environment; benchmark tokens are minted for this sub. */
export const BENCH_USER = "owner";
const HOUR_MS = 3_600_000;
// Far in the future, so the sweeper never tries to snapshot the seeded captures from CloudWatch.
const NEVER_MS = Date.UTC(2100, 0, 1);

/** What a seeded database holds: one environment, `captures` captures, one with a snapshot. */
export interface SeededDatabase {
  /** A copy of the cached file, the caller's to write to and delete. */
  path: string;
  envId: number;
  /** A DONE capture in the middle of the id range (the GET target). */
  captureId: number;
  /** A DONE capture with a stored snapshot of every metric type (Average, 60 s, one hour). */
  snapshotCaptureId: number;
}

/** A fresh copy of the cached database of `count` captures, seeding the cache first if needed. */
export async function seededDatabase(count: number): Promise<SeededDatabase> {
  const cached = `${CACHE_DIR}captures-${count}-v${SEED_VERSION}.db`;
  if (!await exists(cached)) await seed(cached, count);
  const path = await Deno.makeTempFile({ prefix: "capwatch-bench-", suffix: ".db" });
  await Deno.copyFile(cached, path);
  return { path, envId: 1, captureId: Math.ceil(count / 2), snapshotCaptureId: count + 1 };
}

async function seed(path: string, count: number) {
  await Deno.mkdir(CACHE_DIR, { recursive: true });
  const partial = `${path}.partial`;
  await Deno.remove(partial).catch(() => {});
  const started = performance.now();
  const database = await openDatabase(`file:${partial}`);
  try {
    await migrateDatabase(database.db);
    const client = database.client;
    const end = Date.now() - 24 * HOUR_MS;
    const start = end - HOUR_MS;
    await client.execute({
      sql: `INSERT INTO environments (id, name, region, db_instance_identifier, owner_id,
        created_at, updated_at) VALUES (1, 'bench', 'us-east-1', 'bench-db', ?, ?, ?)`,
      args: [BENCH_USER, start, start],
    });
    await client.execute({
      sql: `INSERT INTO memberships (env_id, user_id, role, created_at) VALUES (1, ?, 'admin', ?)`,
      args: [BENCH_USER, start],
    });
    await client.execute({
      sql: `INSERT INTO captures (env_id, owner_id, name, status, start, "end", duration,
          snapshot_next_attempt_at, created_at, updated_at)
        WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
        SELECT 1, ?, 'capture-' || i, 'DONE', ?, ?, 3600, ?, ?, ? FROM n`,
      args: [count, BENCH_USER, start, end, NEVER_MS, start, end],
    });
    const { rows } = await client.execute({
      sql: `INSERT INTO captures (env_id, owner_id, name, status, start, "end", duration,
          created_at, updated_at) VALUES (1, ?, 'with-snapshot', 'DONE', ?, ?, 3600, ?, ?)
        RETURNING id`,
      args: [BENCH_USER, start, end, start, end],
    });
    const snapshotId = Number(rows[0].id);
    await client.execute({
      sql: `INSERT INTO capture_snapshots (capture_id, period, start, "end", complete, taken_at)
        VALUES (?, 60, ?, ?, 1, ?)`,
      args: [snapshotId, start, end, end],
    });
    const points = JSON.stringify(
      Array.from({ length: 60 }, (_, i) => [start / 1000 + 60 * i, 40 + (i % 7)]),
    );
    for (const type of METRIC_TYPES) {
      await client.execute({
        sql: `INSERT INTO capture_snapshot_series (capture_id, stat, type, label, unit, complete,
          datapoints) VALUES (?, 'Average', ?, ?, ?, 1, ?)`,
        args: [snapshotId, type, metricInfo(type).label, metricInfo(type).unit, points],
      });
    }
    await client.execute("PRAGMA wal_checkpoint(TRUNCATE)");
  } finally {
    database.close();
  }
  await Deno.rename(partial, path);
  await Deno.remove(`${partial}-wal`).catch(() => {});
  await Deno.remove(`${partial}-shm`).catch(() => {});
  console.log(
    `  seeded ${count} captures into ${path} in ${Math.round(performance.now() - started)} ms`,
  );
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}
