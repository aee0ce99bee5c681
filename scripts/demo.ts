// `deno task demo`: capwatch with seeded captures against a fake CloudWatch, fully offline.
// Starts the fake in this process and capwatch (main.ts) as a child on PORT (default 8000),
// with its own database and secret under DEMO_DIR (default data/demo/, reset on every run).
// Ctrl-C stops both.
import { isAbsolute, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { loadDevSecret } from "../auth/dev_secret.ts";
import { mintToken } from "../auth/mint.ts";
import {
  type FakeCloudWatch,
  generatedValue,
  startFakeCloudWatch,
  TEST_CREDENTIALS,
} from "../tests/fakes/cloudwatch.ts";
import { startFakePi } from "../tests/fakes/pi.ts";
import { FAKE_INSTANCE_ID, startFakeRds } from "../tests/fakes/rds.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const USER = "demo-user";
const TOKEN_TTL_SECONDS = 12 * 3600;
const STARTUP_TIMEOUT_MS = 60_000;
/** What the demo writes under DEMO_DIR; only these are removed on the next run. */
const DEMO_FILES = ["capwatch.db", "capwatch.db-wal", "capwatch.db-shm", "jwt-secret"];

interface Capture {
  id: number;
  name: string;
  status: string;
}

/** The demo's folder, absolute, and as the user should type it (relative to the project). */
function demoFolder() {
  const given = Deno.env.get("DEMO_DIR") || "data/demo";
  const absolute = isAbsolute(given) ? given : resolve(ROOT, given);
  const shown = relative(Deno.cwd(), absolute) || ".";
  return { absolute, shown: shown.startsWith("..") ? absolute : shown };
}

async function resetFolder(folder: string) {
  await Deno.mkdir(folder, { recursive: true });
  for (const name of DEMO_FILES) {
    await Deno.remove(join(folder, name)).catch((error) => {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    });
  }
}

function randomKey(): string {
  return btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))));
}

/** Forwards capwatch's log lines to our stdout and resolves its URL from the "listening" line. */
async function forwardLogs(stdout: ReadableStream<Uint8Array>, onUrl: (url: string) => void) {
  const encoder = new TextEncoder();
  const lines = stdout.pipeThrough(new TextDecoderStream()).pipeThrough(lineSplitter());
  for await (const line of lines) {
    await Deno.stdout.write(encoder.encode(line + "\n"));
    try {
      const event = JSON.parse(line);
      if (event.msg === "listening" && typeof event.url === "string") onUrl(event.url);
    } catch {
      // Not a log line; forwarded as it is.
    }
  }
}

function lineSplitter() {
  let buffered = "";
  return new TransformStream<string, string>({
    transform(chunk, controller) {
      const parts = (buffered + chunk).split("\n");
      buffered = parts.pop()!;
      for (const part of parts) controller.enqueue(part);
    },
    flush(controller) {
      if (buffered) controller.enqueue(buffered);
    },
  });
}

/** Calls the API as the demo user; throws with capwatch's problem detail on an error. */
function apiClient(baseUrl: string, token: string) {
  return async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const res = await fetch(`${baseUrl}${path}`, {
      method,
      headers: {
        Authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { "Content-Type": "application/json" }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path} answered ${res.status}: ${text}`);
    return JSON.parse(text) as T;
  };
}

const DEMO_DB = "demo-mysql-1";
/** The metrics the tuned capture shows lower, and by what factor. */
const TUNED = ["CPUUtilization", "DBLoad", "DBLoadCPU", "DBLoadNonCPU", "DBLoadRelativeToNumVCPUs"];
const TUNED_FACTOR = 0.6;

/**
 * Fixes the fake's tuned metrics for three hours either side of now: the generated values, and
 * 60 % of them inside `[from, to)` (ms), so comparing that window with another shows a difference.
 */
function seedTunedWindow(fake: FakeCloudWatch, now: number, from: number, to: number) {
  const first = Math.floor(now / 60_000) * 60 - 3 * 3600;
  for (const metric of TUNED) {
    const points: Array<[number, number]> = [];
    for (let t = first; t < first + 6 * 3600; t += 60) {
      const value = generatedValue(metric, DEMO_DB, t);
      const tuned = t * 1000 >= from && t * 1000 < to;
      points.push([t, tuned ? Math.round(value * TUNED_FACTOR * 1e6) / 1e6 : value]);
    }
    fake.setSeries(metric, DEMO_DB, points);
  }
}

async function seed(api: ReturnType<typeof apiClient>, fake: FakeCloudWatch) {
  const now = Date.now();
  const minute = 60_000;
  const env = await api<{ id: number }>("POST", "/api/environments", {
    name: "demo-shop",
    region: "us-east-1",
    dbInstanceIdentifier: DEMO_DB,
  });
  const scheduled = await api<Capture>("POST", "/api/captures", {
    name: "nightly-batch",
    envId: env.id,
    scheduledStart: new Date(Math.ceil((now + 60 * minute) / minute) * minute).toISOString(),
    duration: 3600,
  });
  const running = await api<Capture>("POST", "/api/captures", {
    name: "peak-hour",
    envId: env.id,
    duration: 7200,
  });
  // A backfill: a past start whose window has ended is DONE at once.
  const finished = await api<Capture>("POST", "/api/captures", {
    name: "morning-load",
    envId: env.id,
    start: new Date(Math.floor((now - 120 * minute) / minute) * minute).toISOString(),
    duration: 3600,
  });
  // The same workload after a change: 50 minutes ending 9 minutes ago, with lower CPU and load.
  const tunedStart = Math.floor((now - 59 * minute) / minute) * minute;
  seedTunedWindow(fake, now, tunedStart, tunedStart + 50 * minute);
  const tuned = await api<Capture>("POST", "/api/captures", {
    name: "after-tuning",
    envId: env.id,
    start: new Date(tunedStart).toISOString(),
    duration: 3000,
  });
  return { envId: env.id, scheduled, running, finished, tuned };
}

async function main() {
  const folder = demoFolder();
  await resetFolder(folder.absolute);
  const secret = await loadDevSecret(join(folder.absolute, "jwt-secret"));
  const fake = await startFakeCloudWatch();
  // Performance Insights and RDS fakes: the demo's instance has PI on, with three SQL digests.
  const pi = await startFakePi();
  const rds = await startFakeRds();
  rds.instances.set("demo-mysql-1", rds.instances.get(FAKE_INSTANCE_ID)!);

  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net",
      "--allow-env",
      "--allow-read",
      "--allow-write",
      "--allow-ffi",
      "--allow-sys",
      "main.ts",
    ],
    cwd: ROOT,
    env: {
      PORT: Deno.env.get("PORT") || "8000",
      DATABASE_URL: `file:${join(folder.absolute, "capwatch.db")}`,
      DATABASE_AUTH_TOKEN: "",
      JWT_SECRET: secret,
      JWKS_URL: "",
      JWT_ISSUER: "",
      JWT_AUDIENCE: "",
      // The demo's fake instances are open to every user (no allowlist), as in a quick start.
      AWS_INSTANCE_ALLOWLIST: "",
      AWS_SERVER_CREDENTIAL_USERS: "",
      CREDENTIALS_KEY: randomKey(),
      CLOUDWATCH_ENDPOINT: fake.url,
      PI_ENDPOINT: pi.url,
      RDS_ENDPOINT: rds.url,
      AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
      AWS_SESSION_TOKEN: "",
    },
    stdout: "piped",
    stderr: "inherit",
  }).spawn();

  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    // From a terminal, Ctrl-C reaches capwatch too; forward it only if capwatch is still up.
    const exited = await Promise.race([
      child.status.then(() => true),
      new Promise<false>((r) => setTimeout(() => r(false), 500)),
    ]);
    if (!exited) {
      try {
        child.kill("SIGINT");
      } catch {
        // It exited in the meantime.
      }
    }
    await child.status;
    await Promise.all([fake.close(), pi.close(), rds.close()]);
    Deno.exit(code);
  };
  Deno.addSignalListener("SIGINT", () => stop(0));
  Deno.addSignalListener("SIGTERM", () => stop(0));

  const listening = Promise.withResolvers<string>();
  let listened = false;
  const logs = forwardLogs(child.stdout, (url) => {
    listened = true;
    listening.resolve(url);
  });
  child.status.then(({ code }) => {
    if (!listened) {
      listening.reject(new Error(`capwatch did not start (exit code ${code}); see why above`));
      return;
    }
    if (stopping) return;
    // Exit code 0 means capwatch got the terminal's Ctrl-C first; anything else is a failure.
    if (code !== 0) console.error(`demo: capwatch exited with code ${code}; stopping the demo`);
    logs.finally(() => stop(code));
  });
  const startup = setTimeout(
    () => listening.reject(new Error(`capwatch did not listen within ${STARTUP_TIMEOUT_MS} ms`)),
    STARTUP_TIMEOUT_MS,
  );

  let url: string;
  try {
    url = await listening.promise;
  } catch (error) {
    console.error(`demo: ${(error as Error).message}`);
    return await stop(1);
  } finally {
    clearTimeout(startup);
  }

  const token = await mintToken(secret, { sub: USER, ttlSeconds: TOKEN_TTL_SECONDS });
  let seeded: Awaited<ReturnType<typeof seed>>;
  try {
    seeded = await seed(apiClient(url, token), fake);
  } catch (error) {
    console.error(`demo: seeding failed: ${(error as Error).message}`);
    return await stop(1);
  }

  const auth = `-H "Authorization: Bearer ${token}"`;
  console.log([
    "",
    "capwatch demo is running — offline, against fake CloudWatch, Performance Insights and RDS. Ctrl-C stops all.",
    "",
    `  API docs:         ${url}/docs   (Authorize, then paste the token)`,
    `  Fake CloudWatch:  ${fake.url}   (capwatch pid ${child.pid})`,
    `  Environment ${seeded.envId} "demo-shop" with captures: ` +
    `${seeded.scheduled.id} ${seeded.scheduled.name} (${seeded.scheduled.status}), ` +
    `${seeded.running.id} ${seeded.running.name} (${seeded.running.status}), ` +
    `${seeded.finished.id} ${seeded.finished.name} (${seeded.finished.status}), ` +
    `${seeded.tuned.id} ${seeded.tuned.name} (${seeded.tuned.status})`,
    "",
    `  Bearer token for "${USER}" (valid 12 h):`,
    `  ${token}`,
    `  More tokens: JWT_SECRET=$(cat ${join(folder.shown, "jwt-secret")}) ` +
    "npx -y deno@2 task token --sub alice",
    "",
    "  # List the captures",
    `  curl -s ${auth} ${url}/api/captures`,
    `  # One-minute CPU and connections of the finished capture "${seeded.finished.name}"`,
    `  curl -s ${auth} "${url}/api/captures/${seeded.finished.id}/metrics` +
    `?type=CPUUtilization&type=DatabaseConnections"`,
    `  # Compare "${seeded.tuned.name}" (candidate) with "${seeded.finished.name}" (baseline)`,
    `  curl -s ${auth} "${url}/api/captures/${seeded.tuned.id}/compare` +
    `?with=${seeded.finished.id}&type=CPUUtilization&type=DBLoad"`,
    "  # The same comparison as a chart, saved to compare.svg",
    `  curl -s ${auth} -o compare.svg "${url}/api/captures/${seeded.tuned.id}/compare.svg` +
    `?with=${seeded.finished.id}&type=CPUUtilization&type=DBLoad"`,
    `  # Database load of "${seeded.finished.name}" by SQL digest (Performance Insights)`,
    `  curl -s ${auth} "${url}/api/captures/${seeded.finished.id}/load?groupBy=sql&limit=10"`,
    `  # Stop the running capture "${seeded.running.name}"`,
    `  curl -s -X POST ${auth} ${url}/api/captures/${seeded.running.id}/stop`,
    "",
  ].join("\n"));
  await logs;
}

if (import.meta.main) await main();
