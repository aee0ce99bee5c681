import { createApp } from "./app.ts";
import { loadDevSecret } from "./auth/dev_secret.ts";
import { credentialsCipherFor } from "./auth/credentials_cipher.ts";
import { createTokenVerifier } from "./auth/jwt.ts";
import { opensEveryInstance } from "./auth/instance_policy.ts";
import { mintToken } from "./auth/mint.ts";
import { type Config, ConfigError, loadConfig } from "./config.ts";
import { type DatabaseHandle, openDatabase } from "./db/client.ts";
import { databaseFileCheck, databaseFilePath, pingDatabase } from "./db/health.ts";
import { migrateDatabase } from "./db/migrate.ts";
import { rootCauseMessage } from "./db/errors.ts";
import { systemClock } from "./lifecycle/clock.ts";
import { createSweeper } from "./lifecycle/sweeper.ts";
import { createLogger, type Logger } from "./logger.ts";
import { createCloudWatchClient } from "./metrics/cloudwatch.ts";
import { createCredentialProvider } from "./metrics/credentials.ts";
import { createSnapshotter } from "./metrics/snapshotter.ts";
import { createPiClient } from "./metrics/pi.ts";
import { createRdsClient } from "./metrics/rds.ts";
import { createInstanceChecker } from "./metrics/resolve_instance.ts";
import { createCredentialsRotation } from "./lifecycle/reencrypt_credentials.ts";
import { type ResilientServer, serveResiliently } from "./serve.ts";

/** How long SIGINT/SIGTERM waits for requests in flight and a running sweep before exiting. */
const SHUTDOWN_GRACE_MS = 10_000;

/** Stops the process with one line that says what to fix. */
function fail(message: string): never {
  console.error(`capwatch: ${message}`);
  Deno.exit(1);
}

async function main(cron: SweepCron) {
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
  if (devMode) {
    const secret = await loadDevSecret().catch((e) =>
      fail(`cannot keep the dev secret in data/dev-secret (${e.message}); set JWT_SECRET instead`)
    );
    config.jwt = { ...config.jwt, secret };
  }

  const database = await openAndMigrate(config.databaseUrl, config.databaseAuthToken, logger);
  const databaseFileIntact = await databaseFileCheck(config.databaseUrl);

  // The clients' events carry no credentials; AWS's request id is renamed so it is not mistaken
  // for ours. CloudWatch, Performance Insights and RDS share one retry policy (metrics/aws_call.ts).
  const awsLog = (service: string) => ({ requestId, ...event }: Record<string, unknown>) =>
    logger.debug(service, { ...event, awsRequestId: requestId });
  const cloudwatch = createCloudWatchClient({
    endpoint: config.cloudwatchEndpoint,
    logger: awsLog("cloudwatch"),
  });
  const pi = createPiClient({ endpoint: config.piEndpoint, logger: awsLog("pi") });
  const rds = createRdsClient({ endpoint: config.rdsEndpoint, logger: awsLog("rds") });
  const credentialsCipher = await credentialsCipherFor(config);
  // One provider for every request and the snapshotter, so temporary credentials are shared.
  const credentialProvider = createCredentialProvider({
    serverCredentials: config.awsCredentials,
    identity: config.aws,
    cipher: credentialsCipher,
    clock: systemClock,
    logger,
  });
  if (
    credentialProvider.serverSource !== "none" && opensEveryInstance(config.serverCredentialPolicy)
  ) {
    // Loud on purpose: any signed-in user can read any instance these credentials reach.
    logger.warn("server-wide AWS credentials are open to every user", {
      source: credentialProvider.serverSource,
      fix: "set AWS_INSTANCE_ALLOWLIST (instance ids, globs or RDS ARNs) and/or " +
        "AWS_SERVER_CREDENTIAL_USERS (user ids) to say whose instances they may read",
    });
  }
  let shuttingDown = false;
  const app = createApp({
    db: database.db,
    config,
    clock: systemClock,
    verifyToken: createTokenVerifier(config.jwt),
    logger,
    cloudwatch,
    pi,
    rds,
    credentialsCipher,
    credentialProvider,
    pingDatabase: async () => {
      await databaseFileIntact();
      return await pingDatabase(database.client);
    },
    isShuttingDown: () => shuttingDown,
  });

  let server: ResilientServer;
  try {
    server = serveResiliently(
      {
        hostname: config.host,
        port: config.port,
        reusePort: config.reusePort,
        onListen: ({ hostname, port }) => {
          // An IPv6 host goes in brackets, or the URL (and the printed curl line) does not parse.
          const url = `http://${hostname.includes(":") ? `[${hostname}]` : hostname}:${port}`;
          logger.info("listening", { url, devMode });
          if (devMode) announceDevMode(config, url);
        },
      },
      app.fetch,
      logger,
    );
  } catch (error) {
    if (error instanceof Deno.errors.AddrInUse) {
      fail(
        `port ${config.port} on ${config.host} is already in use; ` +
          `stop the other process or choose another port, e.g. PORT=${config.port + 1}`,
      );
    }
    if (
      error instanceof Deno.errors.PermissionDenied || error instanceof Deno.errors.AddrNotAvailable
    ) {
      fail(
        `cannot listen on ${config.host}:${config.port} (${error.message}); check HOST and PORT`,
      );
    }
    throw error;
  }

  const snapshotter = createSnapshotter({
    db: database.db,
    cloudwatch,
    serverCredentials: config.awsCredentials,
    cipher: credentialsCipher,
    credentials: credentialProvider,
    logger,
    pi,
    rds,
    snapshotBytesPerEnvironment: config.quotas.snapshotBytesPerEnvironment,
  });
  const credentialsRotation = credentialsCipher &&
    createCredentialsRotation(
      database.db,
      credentialsCipher,
      logger,
      Boolean(config.previousCredentialsKeys),
    );
  // At start in the background (reads never wait: until a row moves, its old key still opens it).
  credentialsRotation?.run().catch((error) =>
    logger.warn("re-encrypting credentials failed", { error: String(error) })
  );
  const instanceChecker = createInstanceChecker({
    db: database.db,
    rds,
    credentials: credentialProvider,
  });
  const sweeper = createSweeper({
    db: database.db,
    clock: systemClock,
    logger,
    snapshotter,
    instanceChecker,
    // While previous keys are set, every sweep moves rows an instance still on the old key wrote.
    credentialsRotation: credentialsRotation?.rotating ? credentialsRotation : undefined,
    intervalMs: config.sweepIntervalMs,
  });
  // Not awaited: a slow CloudWatch must not delay serving (status is computed on every read).
  sweeper.sweep();
  if (cron.registered) cron.handler = sweeper.sweep;
  else sweeper.startTimer();
  const scheduler = cron.registered ? "cron" : "timer";
  logger.info("sweeper started", { scheduler });

  const shutdown = async (signal: string) => {
    if (shuttingDown) {
      logger.info("already shutting down", { signal, graceMs: SHUTDOWN_GRACE_MS });
      return;
    }
    shuttingDown = true;
    const started = performance.now();
    logger.info("shutting down", { signal, graceMs: SHUTDOWN_GRACE_MS });
    const deadline = started + SHUTDOWN_GRACE_MS;
    // shutdown() stops accepting at once and resolves when the requests in flight have answered.
    if (!await within(server.shutdown(), deadline)) {
      logger.warn("requests still in flight at the shutdown deadline; exiting anyway", {
        graceMs: SHUTDOWN_GRACE_MS,
      });
    }
    cron.stop.abort();
    if (!await within(sweeper.stop(), deadline)) {
      logger.warn("a sweep was still running at the shutdown deadline; exiting anyway");
    }
    database.close();
    logger.info("stopped", { signal, durationMs: Math.round(performance.now() - started) });
    Deno.exit(0);
  };
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    try {
      Deno.addSignalListener(signal, () => shutdown(signal));
    } catch (error) {
      // Windows has no SIGTERM; some hosts allow no listeners at all.
      logger.debug("cannot listen for a signal", { signal, error: String(error) });
    }
  }
}

interface SweepCron {
  registered: boolean;
  handler?: () => Promise<unknown>;
  stop: AbortController;
}

/**
 * The sweep's cron, registered while this module is evaluated: Deno Deploy discovers crons only at
 * a module's top level, before any server starts. Its handler is set once main() has a database.
 */
function registerCron(): SweepCron {
  const cron: SweepCron = { registered: false, stop: new AbortController() };
  if (typeof Deno.cron !== "function") return cron; // no --unstable-cron: main() uses a timer
  try {
    Deno.cron("capwatch-sweep", "* * * * *", { signal: cron.stop.signal }, async () => {
      await cron.handler?.();
    });
    cron.registered = true;
  } catch (error) {
    // Cron can exist yet refuse (e.g. a second registration); the timer keeps sweeps going.
    console.warn(`capwatch: Deno.cron unavailable (${(error as Error).message}); using a timer`);
  }
  return cron;
}

/** Resolves true when `work` settles before `deadline` (a performance.now() time), else false. */
async function within(work: Promise<unknown>, deadline: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), Math.max(0, deadline - performance.now()));
  });
  try {
    return await Promise.race([work.then(() => true, () => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Opens the database and applies migrations, or stops with one line naming the fix. */
async function openAndMigrate(
  url: string,
  authToken: string | undefined,
  logger: Logger,
): Promise<DatabaseHandle> {
  const path = databaseFilePath(url);
  // A libSQL URL may carry ?authToken=…; only its part before the query is ever printed.
  const shown = url.split("?")[0];
  const fix = path
    ? "DATABASE_URL must name a SQLite file in a writable folder; " +
      "fix the permissions or set DATABASE_URL=file:<another path>"
    : "check DATABASE_URL and DATABASE_AUTH_TOKEN";
  if (path) {
    const folder = path.split("/").slice(0, -1).join("/");
    if (folder) {
      await Deno.mkdir(folder, { recursive: true }).catch((e) =>
        fail(`cannot create the database folder ${folder} (${e.message}); ${fix}`)
      );
    }
  }
  const database = await openDatabase(url, authToken).catch((e) =>
    fail(`cannot open the database ${shown} (${describeDatabaseError(e)}); ${fix}`)
  );
  await migrateDatabase(database.db, { warn: logger.warn }).catch((e) =>
    fail(`cannot migrate the database ${shown} (${describeDatabaseError(e)}); ${fix}`)
  );
  return database;
}

/** libSQL's messages, with SQLite's bare result codes spelled out. */
function describeDatabaseError(error: Error): string {
  const message = rootCauseMessage(error);
  // The native client reports a failed open as `ConnectionFailed("… : 14")`.
  if (/ConnectionFailed\(.*: 14"\)/.test(message)) {
    return "SQLITE_CANTOPEN: unable to open the database file";
  }
  return message;
}

async function announceDevMode(config: Config, url: string) {
  const token = await mintToken(config.jwt.secret!, { sub: "dev-user", ttlSeconds: 12 * 3600 });
  console.warn([
    "",
    "  ⚠ DEV MODE: neither JWT_SECRET nor JWKS_URL is set.",
    "    A random secret was made in data/dev-secret. Never run like this in production.",
    "",
    `  API docs:     ${url}/docs`,
    `  Bearer token (user "dev-user", valid 12 h; mint more with npx -y deno@2 task token --sub NAME):`,
    "",
    `  ${token}`,
    "",
    `  curl -H "Authorization: Bearer ${token}" ${url}/api/environments`,
    "",
  ].join("\n"));
}

if (import.meta.main) {
  const cron = registerCron();
  await main(cron);
}
