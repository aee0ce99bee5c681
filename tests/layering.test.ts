import assert from "node:assert/strict";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

// DESIGN.md: dependencies flow routes -> (openapi, auth, db, metrics, lifecycle) -> config. The
// folders below sit under routes/, so none of their files may import routes/ or app.ts.
const ROOT = fileURLToPath(new URL("../", import.meta.url));
const LOWER = ["db", "metrics", "lifecycle", "auth", "openapi", "http", "operations"];

/** Every module specifier a TypeScript source names: static imports, re-exports, import(). */
export function specifiers(source: string): string[] {
  const found: string[] = [];
  const patterns = [
    /\b(?:import|export)\b[^'"`;]*?\bfrom\s*["']([^"']+)["']/g,
    /\bimport\s*["']([^"']+)["']/g,
    /\bimport\s*\(\s*["']([^"']+)["']\s*\)/g,
  ];
  for (const pattern of patterns) {
    for (const match of source.matchAll(pattern)) found.push(match[1]);
  }
  return found;
}

/** The imports of `file` (a path under ROOT) that reach routes/ or app.ts, as written. */
export function upwardImports(file: string, source: string): string[] {
  return specifiers(source).filter((spec) => {
    if (!spec.startsWith(".")) return false;
    const target = relative(ROOT, resolve(dirname(join(ROOT, file)), spec)).replaceAll("\\", "/");
    return target === "app.ts" || target === "routes" || target.startsWith("routes/");
  });
}

async function* sources(dir: string): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(join(ROOT, dir))) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) yield* sources(path);
    else if (/\.(ts|tsx|js|mjs)$/.test(entry.name)) yield path;
  }
}

Deno.test("no file in db/, metrics/, lifecycle/, auth/, openapi/, http/ or operations/ imports routes/ or app.ts", async () => {
  const offences: string[] = [];
  let scanned = 0;
  for (const dir of LOWER) {
    try {
      await Deno.stat(join(ROOT, dir));
    } catch {
      continue;
    }
    for await (const file of sources(dir)) {
      scanned++;
      for (const spec of upwardImports(file, await Deno.readTextFile(join(ROOT, file)))) {
        offences.push(`${file} imports ${spec}`);
      }
    }
  }
  assert.ok(scanned > 30, `scanned only ${scanned} files; the folders moved?`);
  assert.deepEqual(offences, []);
});

Deno.test("nothing in db/, metrics/, lifecycle/ or operations/ imports Hono", async () => {
  const offences: string[] = [];
  for (const dir of ["db", "metrics", "lifecycle", "operations"]) {
    for await (const file of sources(dir)) {
      const source = await Deno.readTextFile(join(ROOT, file));
      for (const spec of specifiers(source)) {
        if (/^(npm:)?(hono|@hono\/)/.test(spec)) offences.push(`${file} imports ${spec}`);
      }
    }
  }
  assert.deepEqual(offences, []);
});

Deno.test("the layering scan catches an upward import in every form it can be written", () => {
  const cases: Array<[string, string]> = [
    ["auth/x.ts", 'import { problem } from "../http/problem.ts";'],
    ["auth/x.ts", 'import type { AppEnv } from "../routes/router.ts";'],
    ["openapi/schemas/x.ts", 'export { a } from "../../routes/captures/routes.ts";'],
    ["db/x.ts", 'import "../app.ts";'],
    ["metrics/x.ts", 'const m = await import("../routes/health.ts");'],
    ["lifecycle/x.ts", 'import {\n  a,\n  b,\n} from "../routes/captures/handlers.ts";'],
  ];
  const found = cases.map(([file, source]) => upwardImports(file, source).length);
  assert.deepEqual(found, [0, 1, 1, 1, 1, 1]);
});
