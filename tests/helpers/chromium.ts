/**
 * The Chromium the browser test drives: `CHROMIUM_PATH`, else a system Chromium or Chrome, else the
 * Linux x86-64 build that the npm package @sparticuz/chromium ships, unpacked once into a cache
 * folder. So `npx -y deno@2 task test` needs no root, no apt and no browser download site.
 */
import { createReadStream, createWriteStream } from "node:fs";
import { pipeline } from "node:stream/promises";
import { createBrotliDecompress } from "node:zlib";
import {
  SPARTICUZ_CHROMIUM_VERSION,
  sparticuzChromiumBin,
} from "../../dev_deps/sparticuz_chromium.ts";

/** Where a system browser usually lives, besides the names looked up on PATH. */
const SYSTEM_PATHS = [
  "/usr/bin/chromium",
  "/usr/bin/chromium-browser",
  "/usr/bin/google-chrome",
  "/usr/bin/google-chrome-stable",
  "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
  "/Applications/Chromium.app/Contents/MacOS/Chromium",
];
const PATH_NAMES = ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"];

/** A resolved browser and where it came from (for the test's failure messages). */
export interface ResolvedChromium {
  path: string;
  source: "CHROMIUM_PATH" | "system" | "npm";
}

/**
 * Finds a Chromium. `CHROMIUM_FROM_NPM=1` skips system browsers (how the npm path is checked on a
 * machine that has one). Throws an Error saying what to install or set when none can run here.
 */
export async function resolveChromium(
  env: Record<string, string | undefined> = Deno.env.toObject(),
): Promise<ResolvedChromium> {
  if (env.CHROMIUM_PATH) {
    if (!await isFile(env.CHROMIUM_PATH)) {
      throw new Error(`CHROMIUM_PATH=${env.CHROMIUM_PATH} is not a file`);
    }
    return { path: env.CHROMIUM_PATH, source: "CHROMIUM_PATH" };
  }
  if (env.CHROMIUM_FROM_NPM !== "1") {
    const system = await findSystemChromium(env.PATH ?? "");
    if (system) return { path: system, source: "system" };
  }
  return { path: await npmChromium(cacheDir(env)), source: "npm" };
}

async function findSystemChromium(searchPath: string): Promise<string | undefined> {
  const onPath = searchPath.split(":").filter(Boolean).flatMap((dir) =>
    PATH_NAMES.map((name) => `${dir}/${name}`)
  );
  for (const candidate of [...onPath, ...SYSTEM_PATHS]) {
    if (await isFile(candidate)) return candidate;
  }
  return undefined;
}

/** `$CAPWATCH_CACHE_DIR`, else the XDG cache folder, else the temp folder. */
function cacheDir(env: Record<string, string | undefined>): string {
  if (env.CAPWATCH_CACHE_DIR) return env.CAPWATCH_CACHE_DIR;
  if (env.XDG_CACHE_HOME) return `${env.XDG_CACHE_HOME}/capwatch`;
  if (env.HOME) return `${env.HOME}/.cache/capwatch`;
  return `${Deno.env.get("TMPDIR") ?? "/tmp"}/capwatch-cache`;
}

/** Unpacks the npm package's brotli-compressed binary once (about 3 s, 210 MB) and checks it runs. */
async function npmChromium(cache: string): Promise<string> {
  if (Deno.build.os !== "linux" || Deno.build.arch !== "x86_64") {
    throw new Error(
      `no Chromium found, and the npm build covers Linux x86-64 only (this is ` +
        `${Deno.build.os} ${Deno.build.arch}): install Chromium or Chrome, or set CHROMIUM_PATH`,
    );
  }
  const dir = `${cache}/chromium-${SPARTICUZ_CHROMIUM_VERSION}`;
  const binary = `${dir}/chromium`;
  if (!await isFile(binary)) {
    await Deno.mkdir(dir, { recursive: true });
    // Unpacked beside its final name and renamed, so a concurrent or interrupted run never
    // leaves a half-written browser behind.
    const partial = `${binary}.${Deno.pid}.partial`;
    const source = new URL("chromium.br", await sparticuzChromiumBin());
    await pipeline(
      createReadStream(source),
      createBrotliDecompress(),
      createWriteStream(partial, { mode: 0o755 }),
    );
    await Deno.rename(partial, binary);
  }
  const { success, stderr } = await new Deno.Command(binary, {
    args: ["--version"],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!success) {
    const message = new TextDecoder().decode(stderr).trim();
    const library = /error while loading shared libraries: (\S+?):/.exec(message)?.[1];
    throw new Error(
      library
        ? `the npm Chromium (${binary}) needs ${library}, which this machine lacks: install it ` +
          `(Debian/Ubuntu: apt-get install libnss3; Fedora: dnf install nss) or set CHROMIUM_PATH`
        : `the npm Chromium (${binary}) does not run here: ${message}`,
    );
  }
  return binary;
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch {
    return false;
  }
}
