import { createApp } from "../../app.ts";
import { credentialsCipherFor } from "../../auth/credentials_cipher.ts";
import { createTokenVerifier } from "../../auth/jwt.ts";
import { mintToken } from "../../auth/mint.ts";
import { type Config, loadConfig } from "../../config.ts";
import { type DatabaseHandle, openDatabase } from "../../db/client.ts";
import { pingDatabase } from "../../db/health.ts";
import { migrateDatabase } from "../../db/migrate.ts";
import { manualClock } from "../../lifecycle/clock.ts";
import { createLogger } from "../../logger.ts";
import { createCloudWatchClient } from "../../metrics/cloudwatch.ts";
import { createCredentialProvider } from "../../metrics/credentials.ts";
import type { AppDeps } from "../../http/deps.ts";
import { createPiClient } from "../../metrics/pi.ts";
import { createRdsClient } from "../../metrics/rds.ts";

/** Short budgets for the PI and RDS clients against fakes. */
const FAST = { attemptTimeoutMs: 1000, totalBudgetMs: 3000, baseDelayMs: 5, maxDelayMs: 20 };

export const TEST_SECRET = "test-secret-that-is-at-least-32-bytes-long";
export const TEST_CREDENTIALS_KEY = btoa(String.fromCharCode(...new Uint8Array(32).fill(7)));

export interface TestContextOptions {
  now?: string;
  env?: Record<string, string>;
  deps?: Partial<AppDeps>;
  /** How long a local database operation retries a lock held by another connection, in ms. */
  busyBudgetMs?: number;
}

/** A fresh app on its own temp database file, a movable clock, and token-carrying callers. */
export async function testContext(options: TestContextOptions = {}) {
  const dbPath = await Deno.makeTempFile({ prefix: "capwatch-test-", suffix: ".db" });
  const clock = manualClock(options.now ?? "2026-01-01T00:00:00Z");
  const config: Config = loadConfig({
    JWT_SECRET: TEST_SECRET,
    CREDENTIALS_KEY: TEST_CREDENTIALS_KEY,
    DATABASE_URL: `file:${dbPath}`,
    ...options.env,
  });
  const database: DatabaseHandle = await openDatabase(
    config.databaseUrl,
    config.databaseAuthToken,
    { busyBudgetMs: options.busyBudgetMs },
  );
  await migrateDatabase(database.db);
  const logLines: string[] = [];
  const logger = createLogger("debug", (line) => logLines.push(line));
  const credentialsCipher = await credentialsCipherFor(config);
  const deps: AppDeps = {
    db: database.db,
    config,
    clock,
    verifyToken: createTokenVerifier(config.jwt, { clock }),
    logger,
    cloudwatch: createCloudWatchClient({
      endpoint: config.cloudwatchEndpoint ?? "http://127.0.0.1:9/",
      attemptTimeoutMs: 1000,
      totalBudgetMs: 3000,
      baseDelayMs: 5,
      maxDelayMs: 20,
    }),
    // Performance Insights and RDS only where a test points them at a fake.
    pi: config.piEndpoint ? createPiClient({ endpoint: config.piEndpoint, ...FAST }) : undefined,
    rds: config.rdsEndpoint
      ? createRdsClient({ endpoint: config.rdsEndpoint, ...FAST })
      : undefined,
    credentialsCipher,
    credentialProvider: createCredentialProvider({
      serverCredentials: config.awsCredentials,
      identity: config.aws,
      cipher: credentialsCipher,
      clock,
      logger,
    }),
    pingDatabase: () => pingDatabase(database.client),
    ...options.deps,
  };
  const app = createApp(deps);

  const token = (sub: string, ttlSeconds = 3600) =>
    mintToken(TEST_SECRET, { sub, ttlSeconds, now: clock() });

  /** Requests as `user` (a JWT sub), with JSON bodies. */
  const as = (user: string | null) => {
    const send = async (method: string, path: string, body?: unknown, headers = {}) => {
      const h: Record<string, string> = { ...headers };
      if (user) h.Authorization = `Bearer ${await token(user)}`;
      if (body !== undefined) h["Content-Type"] = "application/json";
      return app.request(path, {
        method,
        headers: h,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    };
    return {
      get: (path: string, headers?: Record<string, string>) =>
        send("GET", path, undefined, headers),
      post: (path: string, body?: unknown, headers?: Record<string, string>) =>
        send("POST", path, body, headers),
      put: (path: string, body?: unknown, headers?: Record<string, string>) =>
        send("PUT", path, body, headers),
      patch: (path: string, body?: unknown, headers?: Record<string, string>) =>
        send("PATCH", path, body, headers),
      delete: (path: string, headers?: Record<string, string>) =>
        send("DELETE", path, undefined, headers),
    };
  };

  /** Registers an environment owned (and administered) by `owner`. */
  const createEnvironment = async (owner = "owner", body: Record<string, unknown> = {}) => {
    const res = await as(owner).post("/api/environments", {
      name: `env-${crypto.randomUUID().slice(0, 8)}`,
      region: "us-east-1",
      dbInstanceIdentifier: "prod-mysql-1",
      ...body,
    });
    if (res.status !== 201) throw new Error(`createEnvironment: ${res.status} ${await res.text()}`);
    return await res.json() as { id: number; name: string };
  };

  /** Adds `userId` to an environment with `role`, acting as `admin`. */
  const addMember = async (envId: number, userId: string, role = "member", admin = "owner") => {
    const res = await as(admin).put(`/api/environments/${envId}/members/${userId}`, { role });
    if (res.status >= 300) throw new Error(`addMember: ${res.status} ${await res.text()}`);
  };

  return {
    app,
    deps,
    db: database.db,
    client: database.client,
    dbPath,
    clock,
    config,
    logLines,
    token,
    as,
    createEnvironment,
    addMember,
    async [Symbol.asyncDispose]() {
      database.close();
      await Deno.remove(dbPath).catch(() => {});
      for (const suffix of ["-wal", "-shm"]) await Deno.remove(dbPath + suffix).catch(() => {});
    },
  };
}

export type TestContext = Awaited<ReturnType<typeof testContext>>;
