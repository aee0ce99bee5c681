import { createApp } from "./app.ts";
import { loadDevSecret } from "./auth/dev_secret.ts";
import { createCredentialsCipher } from "./auth/credentials_cipher.ts";
import { createTokenVerifier } from "./auth/jwt.ts";
import { mintToken } from "./auth/mint.ts";
import { type Config, ConfigError, loadConfig } from "./config.ts";
import { openDatabase } from "./db/client.ts";
import { pingDatabase } from "./db/health.ts";
import { migrateDatabase } from "./db/migrate.ts";
import { systemClock } from "./lifecycle/clock.ts";
import { createSweeper } from "./lifecycle/sweeper.ts";
import { createLogger } from "./logger.ts";
import { createCloudWatchClient } from "./metrics/cloudwatch.ts";
import { createSnapshotter } from "./metrics/snapshotter.ts";

/** Stops the process with one line that says what to fix. */
function fail(message: string): never {
  console.error(`capwatch: ${message}`);
  Deno.exit(1);
}

async function main() {
  let config: Config;
  try {
    config = loadConfig(Deno.env.toObject());
  } catch (error) {
    if (error instanceof ConfigError) fail(error.message);
    throw error;
  }
  const logger = createLogger(config.logLevel);

  const devMode = !config.jwt.secret && !config.jwt.jwksUrl;
  if (devMode && config.onDeploy) {
    fail("Invalid configuration: JWT_SECRET or JWKS_URL must be set on Deno Deploy");
  }
  if (devMode) config.jwt = { ...config.jwt, secret: await loadDevSecret() };

  await ensureDatabaseFolder(config.databaseUrl);
  const database = await openDatabase(config.databaseUrl, config.databaseAuthToken).catch((e) =>
    fail(`cannot open the database ${config.databaseUrl}: ${e.message}`)
  );
  await migrateDatabase(database.db).catch((e) =>
    fail(`cannot migrate the database ${config.databaseUrl}: ${e.message}`)
  );

  const cloudwatch = createCloudWatchClient({
    endpoint: config.cloudwatchEndpoint,
    logger: (event) => logger.debug("cloudwatch", event),
  });
  const credentialsCipher = config.credentialsKey
    ? await createCredentialsCipher(config.credentialsKey)
    : undefined;
  const app = createApp({
    db: database.db,
    config,
    clock: systemClock,
    verifyToken: createTokenVerifier(config.jwt),
    logger,
    cloudwatch,
    credentialsCipher,
    pingDatabase: () => pingDatabase(database.client),
  });

  const snapshotter = createSnapshotter({
    db: database.db,
    cloudwatch,
    serverCredentials: config.awsCredentials,
    cipher: credentialsCipher,
    logger,
  });
  const sweeper = createSweeper({ db: database.db, clock: systemClock, logger, snapshotter });
  await sweeper.sweepOnce().catch((e) => logger.error("first sweep failed", { error: String(e) }));
  const scheduler = sweeper.start();
  logger.info("sweeper started", { scheduler });

  let server: Deno.HttpServer;
  try {
    server = Deno.serve({
      hostname: config.host,
      port: config.port,
      onListen: ({ hostname, port }) => {
        logger.info("listening", { url: `http://${hostname}:${port}` });
        if (devMode) announceDevMode(config, `http://${hostname}:${port}`);
      },
    }, app.fetch);
  } catch (error) {
    if (error instanceof Deno.errors.AddrInUse) {
      fail(`port ${config.port} is already in use; stop the other process or set PORT=…`);
    }
    throw error;
  }

  const shutdown = async (signal: string) => {
    logger.info("shutting down", { signal });
    await server.shutdown();
    await sweeper.stop();
    database.close();
    Deno.exit(0);
  };
  Deno.addSignalListener("SIGINT", () => shutdown("SIGINT"));
  Deno.addSignalListener("SIGTERM", () => shutdown("SIGTERM"));
}

async function ensureDatabaseFolder(url: string) {
  if (!url.startsWith("file:")) return;
  const path = url.slice("file:".length);
  const folder = path.split("/").slice(0, -1).join("/");
  if (!folder) return;
  try {
    await Deno.mkdir(folder, { recursive: true });
  } catch (error) {
    fail(`cannot create the database folder ${folder}: ${(error as Error).message}`);
  }
}

async function announceDevMode(config: Config, url: string) {
  const token = await mintToken(config.jwt.secret!, { sub: "dev-user", ttlSeconds: 12 * 3600 });
  console.warn([
    "",
    "  ⚠ DEV MODE: neither JWT_SECRET nor JWKS_URL is set.",
    "    A random secret was made in data/dev-secret. Never run like this in production.",
    "",
    `  API docs:     ${url}/docs`,
    `  Bearer token (user "dev-user", valid 12 h; mint more with deno task token --sub NAME):`,
    "",
    `  ${token}`,
    "",
    `  curl -H "Authorization: Bearer ${token}" ${url}/api/environments`,
    "",
  ].join("\n"));
}

if (import.meta.main) await main();
