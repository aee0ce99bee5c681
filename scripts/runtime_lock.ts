// Writes deno.runtime.lock: deno.lock cut down to what main.ts imports, at the same versions, for
// the container's install. With --check, exits 1 when the committed file is out of date.
//
// Why a second lockfile: `deno install --entrypoint main.ts` installs every npm package of the
// lockfile it finds (a documented Deno design limit), so with deno.lock the image would also get
// playwright-core, typescript, drizzle-kit and the rest of the test and codegen tools. Deno prunes
// a lockfile when the config stops naming a package: the dev lock is copied into a scratch folder
// with every specifier marked as a config dependency, and `deno install --entrypoint main.ts` there
// (against deno.json, which names only runtime packages) drops the rest and keeps every version.
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const RUNTIME_LOCK = `${ROOT}deno.runtime.lock`;

/** Returns the runtime lockfile's text derived from deno.lock; throws when deno install fails. */
export async function runtimeLock(): Promise<string> {
  const scratch = await Deno.makeTempDir({ prefix: "capwatch-runtime-lock-" });
  try {
    await copySources(ROOT, scratch);
    const lock = JSON.parse(await Deno.readTextFile(`${ROOT}deno.lock`));
    lock.workspace = { ...lock.workspace, dependencies: Object.keys(lock.specifiers).sort() };
    await Deno.writeTextFile(`${scratch}/deno.lock`, JSON.stringify(lock, null, 2) + "\n");
    const { code, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["install", "--entrypoint", "main.ts"],
      cwd: scratch,
      env: { NO_COLOR: "1" },
      stdout: "null",
      stderr: "piped",
    }).output();
    if (code !== 0) {
      throw new Error(`deno install failed:\n${new TextDecoder().decode(stderr)}`);
    }
    return await Deno.readTextFile(`${scratch}/deno.lock`);
  } finally {
    await Deno.remove(scratch, { recursive: true }).catch(() => {});
  }
}

/** Copies the project's files (not node_modules, data or git) so main.ts's graph resolves. */
async function copySources(from: string, to: string) {
  for await (const entry of Deno.readDir(from)) {
    if ([".git", "node_modules", "data", "artifacts", "coverage"].includes(entry.name)) continue;
    const source = `${from}${entry.name}`;
    if (entry.isDirectory) {
      await Deno.mkdir(`${to}/${entry.name}`);
      await copySources(`${source}/`, `${to}/${entry.name}`);
    } else if (entry.isFile) {
      await Deno.copyFile(source, `${to}/${entry.name}`);
    }
  }
}

if (import.meta.main) {
  const wanted = await runtimeLock();
  if (Deno.args.includes("--check")) {
    const committed = await Deno.readTextFile(RUNTIME_LOCK).catch(() => "");
    if (committed !== wanted) {
      console.error("deno.runtime.lock is out of date: run npx -y deno@2 task lock:runtime");
      Deno.exit(1);
    }
    console.log("deno.runtime.lock is up to date");
  } else {
    await Deno.writeTextFile(RUNTIME_LOCK, wanted);
    console.log("wrote deno.runtime.lock");
  }
}
