/** Real capwatch processes for tests whose subject is the process: logs, signals, the demo. */
import { fileURLToPath } from "node:url";
import { TEST_SECRET } from "./context.ts";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/**
 * A deno.json task as `deno task` runs it: its leading `NAME=value` settings (environment
 * variables, e.g. the start task's MALLOC_ARENA_MAX) and the arguments after `deno`.
 */
export async function taskCommand(
  task: string,
): Promise<{ env: Record<string, string>; args: string[] }> {
  const config = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`));
  const command: string = config.tasks[task];
  const words = command.split(/\s+/);
  const env: Record<string, string> = {};
  while (/^[A-Z_][A-Z0-9_]*=/.test(words[0])) {
    const setting = words.shift()!;
    const at = setting.indexOf("=");
    env[setting.slice(0, at)] = setting.slice(at + 1);
  }
  const [deno, ...args] = words;
  if (deno !== "deno") throw new Error(`task ${task} does not start with deno: ${command}`);
  return { env, args };
}

/** The permissions of `deno task start`, read from deno.json so the tests run what users run. */
export async function taskArgs(task: string): Promise<string[]> {
  return (await taskCommand(task)).args;
}

// Every variable config.ts (or the demo) reads: removed, so the developer's own settings stay out.
const CONFIG_VARIABLES = [
  "PORT",
  "HOST",
  "DATABASE_URL",
  "DATABASE_AUTH_TOKEN",
  "JWT_SECRET",
  "JWKS_URL",
  "JWT_ISSUER",
  "JWT_AUDIENCE",
  "JWT_TYP",
  "JWT_MAX_AGE",
  "AWS_INSTANCE_ALLOWLIST",
  "AWS_SERVER_CREDENTIAL_USERS",
  "QUOTA_ENVIRONMENTS_PER_USER",
  "QUOTA_CAPTURES_PER_ENVIRONMENT",
  "QUOTA_RUNNING_CAPTURES_PER_ENVIRONMENT",
  "QUOTA_METRICS_REQUESTS_PER_MINUTE",
  "QUOTA_SNAPSHOT_BYTES_PER_ENVIRONMENT",
  "CREDENTIALS_KEY",
  "CREDENTIALS_KEY_PREVIOUS",
  "CREDENTIALS_KEY_NEXT",
  "SWEEP_INTERVAL",
  "AWS_ROLE_ARN",
  "AWS_WEB_IDENTITY_TOKEN_FILE",
  "AWS_ROLE_SESSION_NAME",
  "AWS_REGION",
  "AWS_DEFAULT_REGION",
  "AWS_CONTAINER_CREDENTIALS_FULL_URI",
  "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
  "AWS_CONTAINER_AUTHORIZATION_TOKEN",
  "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
  "AWS_STS_ENDPOINT",
  "AWS_ACCESS_KEY_ID",
  "AWS_SECRET_ACCESS_KEY",
  "AWS_SESSION_TOKEN",
  "CLOUDWATCH_ENDPOINT",
  "LOG_LEVEL",
  "DENO_DEPLOYMENT_ID",
  "DEMO_DIR",
  "DOCS_PERSIST_AUTHORIZATION",
  "REUSE_PORT",
];

/** A child process whose stdout and stderr are collected line by line. */
export interface Child extends AsyncDisposable {
  pid: number;
  stdout: string[];
  stderr: string[];
  status: Promise<Deno.CommandStatus>;
  /** Resolves with the first stdout line (past or future) matching `test`. */
  waitForLine(test: (line: string) => boolean, timeoutMs?: number): Promise<string>;
  kill(signal?: Deno.Signal): void;
}

/**
 * Spawns `deno <args>` in the project folder without the configuration variables, plus `env`;
 * `wrapper` (e.g. ["prlimit", "--nofile=64"]) runs deno under another command.
 */
export function spawnDeno(
  args: string[],
  env: Record<string, string> = {},
  wrapper: string[] = [],
): Child {
  const inherited = Object.fromEntries(
    Object.entries(Deno.env.toObject()).filter(([name]) => !CONFIG_VARIABLES.includes(name)),
  );
  const [command, ...prefix] = [...wrapper, Deno.execPath()];
  const process = new Deno.Command(command, {
    args: [...prefix, ...args],
    cwd: ROOT,
    clearEnv: true,
    env: { ...inherited, NO_COLOR: "1", ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stdout: string[] = [];
  const stderr: string[] = [];
  const waiters = new Set<{ test: (line: string) => boolean; resolve: (line: string) => void }>();
  const collect = async (stream: ReadableStream<Uint8Array>, into: string[], watch: boolean) => {
    let buffered = "";
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      const parts = (buffered + chunk).split("\n");
      buffered = parts.pop()!;
      for (const line of parts) {
        into.push(line);
        if (!watch) continue;
        for (const waiter of waiters) {
          if (waiter.test(line)) {
            waiters.delete(waiter);
            waiter.resolve(line);
          }
        }
      }
    }
    if (buffered) into.push(buffered);
  };
  const drained = Promise.all([
    collect(process.stdout, stdout, true),
    collect(process.stderr, stderr, false),
  ]);
  const status = process.status.then(async (s) => {
    await drained;
    return s;
  });

  return {
    pid: process.pid,
    stdout,
    stderr,
    status,
    waitForLine(test, timeoutMs = 30_000) {
      const seen = stdout.find(test);
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const waiter = {
          test,
          resolve: (line: string) => {
            clearTimeout(timer);
            resolve(line);
          },
        };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(
            new Error(
              `no matching line within ${timeoutMs} ms\nstdout:\n${stdout.join("\n")}\n` +
                `stderr:\n${stderr.join("\n")}`,
            ),
          );
        }, timeoutMs);
        waiters.add(waiter);
        status.then(() => {
          if (!waiters.has(waiter)) return;
          waiters.delete(waiter);
          clearTimeout(timer);
          reject(new Error(`the process exited first\nstderr:\n${stderr.join("\n")}`));
        });
      });
    },
    kill(signal = "SIGTERM") {
      try {
        process.kill(signal);
      } catch {
        // Already gone.
      }
    },
    async [Symbol.asyncDispose]() {
      this.kill("SIGKILL");
      await status;
    },
  };
}

/** The parsed JSON log lines of a capwatch process (stdout), failing on any other line. */
export function logLines(child: Child): Array<Record<string, unknown>> {
  return child.stdout.filter((line) => line.trim() !== "").map((line) => {
    try {
      return JSON.parse(line);
    } catch {
      throw new Error(`stdout line is not JSON: ${line}`);
    }
  });
}

/** A running `main.ts` on a random port with its own temp database. */
export interface Server extends Child {
  url: string;
  dbPath: string;
}

/** Starts main.ts as `deno task start` does, with PORT=0, JWT_SECRET=TEST_SECRET and `env`. */
export async function startServer(
  env: Record<string, string> = {},
  options: { wrapper?: string[] } = {},
): Promise<Server> {
  const dir = await Deno.makeTempDir({ prefix: "capwatch-process-" });
  const dbPath = `${dir}/capwatch.db`;
  const start = await taskCommand("start");
  const child = spawnDeno(start.args, {
    ...start.env,
    PORT: "0",
    HOST: "127.0.0.1",
    DATABASE_URL: `file:${dbPath}`,
    JWT_SECRET: TEST_SECRET,
    ...env,
  }, options.wrapper);
  const listening = await child.waitForLine((line) => line.includes('"msg":"listening"'), 60_000)
    .catch(async (error) => {
      await child[Symbol.asyncDispose]();
      throw error;
    });
  const stop = child[Symbol.asyncDispose].bind(child);
  return Object.assign(child, {
    url: JSON.parse(listening).url as string,
    dbPath,
    async [Symbol.asyncDispose]() {
      await stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  });
}

/** Two capwatch processes, each on `env`, sharing the first one's database file; disposing stops both. */
export async function startTwoOnOneFile(
  env: Record<string, string> = {},
): Promise<{ a: Server; b: Server } & AsyncDisposable> {
  const a = await startServer(env);
  try {
    const b = await startServer({ ...env, DATABASE_URL: `file:${a.dbPath}` });
    return {
      a,
      b,
      async [Symbol.asyncDispose]() {
        await b[Symbol.asyncDispose]();
        await a[Symbol.asyncDispose]();
      },
    };
  } catch (error) {
    await a[Symbol.asyncDispose]();
    throw error;
  }
}

/**
 * A JSON call over real HTTP with a bearer token; answers the status and the parsed body (null when
 * empty; a body that is not JSON throws).
 */
export async function callJson(
  url: string,
  token: string,
  method: string,
  path: string,
  body?: unknown,
) {
  const { status, text } = await callText(url, token, method, path, body);
  return { status, body: text ? JSON.parse(text) : null };
}

/** callJson() answering the status, the body as text and the headers, for answers compared as sent. */
export async function callText(
  url: string,
  token: string,
  method: string,
  path: string,
  body?: unknown,
) {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: {
      Authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { "Content-Type": "application/json" }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, text: await res.text(), headers: res.headers };
}

/** Resolves when `promise` does, or rejects after `ms`. */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** True when nothing accepts TCP connections on the URL's port any more. */
export async function refusesConnections(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  try {
    const conn = await Deno.connect({ hostname, port: Number(port) });
    conn.close();
    return false;
  } catch (error) {
    if (error instanceof Deno.errors.ConnectionRefused) return true;
    throw error;
  }
}
