// What the Dockerfile and .dockerignore promise, checked without a Docker engine: the build context
// keeps local data and secrets out, the image's install is runtime-only, its command is the start
// task, and the health check it runs answers for a real server.
import assert from "node:assert/strict";
import { dockerIgnore } from "../dev_deps/dockerignore.ts";
import { TEST_SECRET } from "./helpers/context.ts";
import { ROOT, taskCommand } from "./helpers/process.ts";

const dockerfile = await Deno.readTextFile(`${ROOT}Dockerfile`);
const ignored = dockerIgnore(await Deno.readTextFile(`${ROOT}.dockerignore`));

/** The JSON-array form of a Dockerfile instruction (CMD, or HEALTHCHECK's CMD). */
function execForm(pattern: RegExp): string[] {
  const match = pattern.exec(dockerfile.replace(/\\\n\s*/g, ""));
  assert.ok(match, `no ${pattern} in the Dockerfile`);
  return JSON.parse(match[1]);
}

/** Copies the project as `docker build .` would send it: every file .dockerignore keeps. */
async function buildContext(from: string, to: string, relative = ""): Promise<void> {
  for await (const entry of Deno.readDir(`${from}${relative}`)) {
    const path = `${relative}${entry.name}`;
    if (ignored.ignores(path)) continue;
    if (entry.isDirectory) {
      await Deno.mkdir(`${to}/${path}`);
      await buildContext(from, to, `${path}/`);
    } else if (entry.isFile) {
      await Deno.copyFile(`${from}${path}`, `${to}/${path}`);
    }
  }
}

/** Sizes in bytes of the files under `dir` (links not followed). */
async function du(dir: string): Promise<number> {
  let total = 0;
  for await (const entry of Deno.readDir(dir)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) total += await du(path);
    else if (entry.isFile) total += (await Deno.stat(path)).size;
  }
  return total;
}

Deno.test(".dockerignore keeps data, secrets, node_modules and the dev tools out of the image", () => {
  for (
    const path of [
      "data",
      "data/dev-secret",
      "data/capwatch.db",
      "data/capwatch.db-wal",
      "data/demo/jwt-secret",
      "node_modules/.deno/hono@4.13.19/package.json",
      ".env",
      ".env.production",
      "deploy/.env",
      "backup.db",
      "db/old.db",
      "deploy/tls.key",
      ".git/config",
      "deno.lock",
      "tests/config.test.ts",
      "dev_deps/playwright_core.ts",
      "bench/reads.bench.ts",
      "artifacts/docs.png",
    ]
  ) {
    assert.ok(ignored.ignores(path), `${path} would be sent to the image`);
  }
});

Deno.test(".dockerignore keeps every module main.ts loads, its migrations and the runtime lockfile", async () => {
  const { stdout, success } = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", "main.ts"],
    cwd: ROOT,
    stdout: "piped",
  }).output();
  assert.ok(success);
  const info = JSON.parse(new TextDecoder().decode(stdout));
  const local = info.modules
    .map((module: { specifier: string }) => module.specifier)
    .filter((specifier: string) => specifier.startsWith(`file://${ROOT}`))
    .map((specifier: string) => specifier.slice(`file://${ROOT}`.length));
  assert.ok(local.includes("http/problem.ts"), "deno info listed no local modules");
  const migrations = [...Deno.readDirSync(`${ROOT}db/migrations`)].map((e) =>
    `db/migrations/${e.name}`
  );
  for (
    const path of [...local, ...migrations, "deno.json", "deno.runtime.lock", "scripts/migrate.ts"]
  ) {
    assert.ok(!ignored.ignores(path), `${path} is needed in the image but ignored`);
  }
});

Deno.test("the Dockerfile pins a Deno 2 image, runs as a non-root user on HOST=0.0.0.0 with a health check", () => {
  assert.match(dockerfile, /^FROM denoland\/deno:2\.\d+\.\d+$/m);
  const users = [...dockerfile.matchAll(/^USER (\S+)$/gm)].map((m) => m[1]);
  assert.deepEqual(users, ["deno"]);
  assert.ok(
    dockerfile.indexOf("USER deno") < dockerfile.indexOf("RUN mv"),
    "the install runs as the user that serves",
  );
  assert.match(dockerfile, /^ENV .*\bHOST=0\.0\.0\.0\b/m);
  assert.match(execForm(/^HEALTHCHECK .*?CMD (\[.*\])$/m).join(" "), /\/health/);
});

Deno.test("the Dockerfile's CMD is deno task start's command, with its environment", async () => {
  const start = await taskCommand("start");
  assert.deepEqual(execForm(/^CMD (\[.*\])$/m), ["deno", ...start.args]);
  // The task's NAME=value settings (glibc's MALLOC_ARENA_MAX) are the image's ENV.
  assert.ok(Object.keys(start.env).length > 0);
  for (const [name, value] of Object.entries(start.env)) {
    assert.match(dockerfile, new RegExp(`^ENV .*\\b${name}=${value}(\\s|$)`, "m"), name);
  }
});

Deno.test("the image's install is runtime-only, and its CMD and health check serve from it", async () => {
  const app = await Deno.makeTempDir({ prefix: "capwatch-image-" });
  const data = await Deno.makeTempDir({ prefix: "capwatch-image-data-" });
  try {
    await buildContext(ROOT, app);
    const install = /^RUN (mv deno\.runtime\.lock .*)$/m.exec(dockerfile)?.[1];
    assert.ok(install, "no install step in the Dockerfile");
    const installed = await new Deno.Command("sh", {
      args: ["-c", install.replaceAll(/\bdeno\b(?= )/g, `"${Deno.execPath()}"`)],
      cwd: app,
      env: { NO_COLOR: "1" },
      stdout: "null",
      stderr: "piped",
    }).output();
    assert.ok(installed.success, new TextDecoder().decode(installed.stderr));

    const packages = [...Deno.readDirSync(`${app}/node_modules/.deno`)].map((e) => e.name);
    for (const dev of ["playwright-core", "fast-check", "typescript", "drizzle-kit", "ajv"]) {
      assert.ok(!packages.some((name) => name.startsWith(`${dev}@`)), `${dev} installed`);
    }
    for (const dev of ["openapi-typescript", "@smithy+signature-v4", "@sparticuz+chromium"]) {
      assert.ok(!packages.some((name) => name.startsWith(`${dev}@`)), `${dev} installed`);
    }
    assert.ok(packages.some((name) => name.startsWith("hono@")));
    const megabytes = await du(`${app}/node_modules`) / 1e6;
    // 68 MB measured (35 packages); the dev lockfile's full set is 183 MB.
    assert.ok(megabytes < 100, `node_modules is ${megabytes.toFixed(0)} MB`);

    // The image's command, from the build folder, with the image's environment but loopback.
    const [command, ...args] = execForm(/^CMD (\[.*\])$/m);
    assert.equal(command, "deno");
    const server = new Deno.Command(Deno.execPath(), {
      args,
      cwd: app,
      clearEnv: true,
      env: {
        PATH: Deno.env.get("PATH") ?? "",
        HOME: Deno.env.get("HOME") ?? app,
        NO_COLOR: "1",
        HOST: "127.0.0.1",
        PORT: "0",
        DATABASE_URL: `file:${data}/capwatch.db`,
        JWT_SECRET: TEST_SECRET,
      },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const lines = server.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let seen = "";
    let url: string | undefined;
    while (!url) {
      const { value, done } = await lines.read();
      assert.ok(!done, `the image's command exited:\n${seen}`);
      seen += value;
      url = /"msg":"listening","url":"([^"]+)"/.exec(seen)?.[1];
    }
    const health = () => {
      const [deno, ...check] = execForm(/^HEALTHCHECK .*?CMD (\[.*\])$/m);
      assert.equal(deno, "deno");
      return new Deno.Command(Deno.execPath(), {
        args: check,
        env: { PORT: new URL(url!).port },
        stdout: "null",
        stderr: "null",
      }).output();
    };
    assert.equal((await health()).code, 0, "the health check fails on a healthy server");
    server.kill("SIGTERM");
    assert.equal((await server.status).code, 0);
    await lines.cancel();
    await server.stderr.cancel();
    assert.notEqual((await health()).code, 0, "the health check passes with no server");
  } finally {
    await Deno.remove(app, { recursive: true }).catch(() => {});
    await Deno.remove(data, { recursive: true }).catch(() => {});
  }
});
