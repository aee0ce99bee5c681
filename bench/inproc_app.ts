// The app as main.ts builds it, on a copy of the bench:load database, for the in-process benches
// (bench/inproc.ts, bench/profile_inproc.ts, bench/profile_alloc.ts).
import { createApp } from "../app.ts";
import { createTokenVerifier } from "../auth/jwt.ts";
import { mintToken } from "../auth/mint.ts";
import { loadConfig } from "../config.ts";
import { openDatabase } from "../db/client.ts";
import { pingDatabase } from "../db/health.ts";
import { migrateDatabase } from "../db/migrate.ts";
import { systemClock } from "../lifecycle/clock.ts";
import { createLogger } from "../logger.ts";
import { createCloudWatchClient } from "../metrics/cloudwatch.ts";
import { createCredentialProvider } from "../metrics/credentials.ts";
import { createRdsClient } from "../metrics/rds.ts";
import { BENCH_USER, seededDatabase } from "./seed.ts";

const SECRET = "bench-secret-that-is-at-least-32-bytes-long";

/**
 * The app on a fresh copy of the seeded database of `captures` captures, with every quota on but
 * far above what a bench sends (their conditions stay in the measured statements, no 429), the
 * request log written to `logSink`, the RDS client and credential chain main.ts gives (no
 * credentials here, as in bench:load), and the Authorization header of the seeded user.
 */
export async function benchApp(captures = 1_000, logSink: (line: string) => void = () => {}) {
  const seeded = await seededDatabase(captures);
  const config = loadConfig({
    JWT_SECRET: SECRET,
    DATABASE_URL: `file:${seeded.path}`,
    QUOTA_CAPTURES_PER_ENVIRONMENT: "1000000000",
    QUOTA_RUNNING_CAPTURES_PER_ENVIRONMENT: "1000000000",
    QUOTA_METRICS_REQUESTS_PER_MINUTE: "1000000000",
  });
  const database = await openDatabase(config.databaseUrl);
  // The cached seed may predate later migrations (main.ts migrates at start too).
  await migrateDatabase(database.db);
  const app = createApp({
    db: database.db,
    config,
    clock: systemClock,
    verifyToken: createTokenVerifier(config.jwt),
    logger: createLogger("info", logSink),
    cloudwatch: createCloudWatchClient({ endpoint: "http://127.0.0.1:9/" }),
    // As main.ts gives them (bench:load has no AWS credentials): a capture starting now is
    // checked against RDS, which stops at the missing credentials.
    rds: createRdsClient({ endpoint: "http://127.0.0.1:9/" }),
    credentialProvider: createCredentialProvider({ clock: systemClock }),
    pingDatabase: () => pingDatabase(database.client),
  });
  const token = await mintToken(SECRET, { sub: BENCH_USER, ttlSeconds: 3600 });
  return {
    app,
    seeded,
    auth: { Authorization: `Bearer ${token}` },
    async close() {
      database.close();
      for (const suffix of ["", "-wal", "-shm"]) {
        await Deno.remove(seeded.path + suffix).catch(() => {});
      }
    },
  };
}

/**
 * A JSON POST as an HTTP client sends it, Content-Length included (Deno.serve's requests carry
 * it, and the body limit and body deadline take their short path on it).
 */
export function jsonPost(url: string, headers: Record<string, string>, body: unknown): Request {
  const text = JSON.stringify(body);
  return new Request(url, {
    method: "POST",
    headers: {
      ...headers,
      "Content-Type": "application/json",
      "Content-Length": String(new TextEncoder().encode(text).byteLength),
    },
    body: text,
  });
}
