import assert from "node:assert/strict";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

// The product's layers, lowest first: a file may import its own rank or a lower one, never a
// higher one. README "Code tour" draws the same order as an arrow.
const ROOT = fileURLToPath(new URL("../", import.meta.url));
const LAYERS: ReadonlyArray<readonly string[]> = [
  [
    "config.ts",
    "config_aws.ts",
    "aws_partitions.ts",
    "inputs.ts",
    "hex.ts",
    "iso_time.ts",
    "logger.ts",
    "vocabulary.ts",
  ],
  ["db"],
  ["auth"],
  ["lifecycle"],
  ["metrics"],
  ["openapi"],
  ["http"],
  ["operations"],
  ["routes"],
  ["app.ts", "serve.ts"],
  ["main.ts"],
];
/** Outside the product: they may import anything, and nothing in it may import them. */
const OUTSIDE = ["scripts", "bench", "tests", "dev_deps", "drizzle.config.ts"];

/** The rank of a path relative to ROOT (a file or folder), or undefined outside the layers. */
export function rankOf(path: string): number | undefined {
  const top = path.split("/")[0];
  const rank = LAYERS.findIndex((layer) => layer.includes(top));
  return rank === -1 ? undefined : rank;
}

/**
 * Every module specifier a TypeScript source names: static imports, re-exports, import() with a
 * string or a template literal. A template literal with `${…}` cannot be followed, so it comes
 * back as `DYNAMIC` (a file that does so is reported).
 */
export function specifiers(source: string): string[] {
  const found: string[] = [];
  const patterns = [
    /\b(?:import|export)\b[^'"`;]*?\bfrom\s*["']([^"']+)["']/g,
    /\bimport\s*["']([^"']+)["']/g,
    /\bimport\s*\(\s*["']([^"']+)["']\s*[,)]/g,
    /\bimport\s*\(\s*`([^`]*)`\s*[,)]/g,
  ];
  for (const pattern of patterns) {
    for (const match of source.matchAll(pattern)) {
      found.push(match[1].includes("${") ? DYNAMIC : match[1]);
    }
  }
  // import(expression) with anything but a literal: also not followable.
  for (const match of source.matchAll(/\bimport\s*\(\s*([^\s"'`)])/g)) {
    if (match[1] !== "/") found.push(DYNAMIC);
  }
  return found;
}
export const DYNAMIC = "<computed import>";

/** `spec` as a path relative to ROOT when it is a relative import of `file`, else undefined. */
function target(file: string, spec: string): string | undefined {
  if (!spec.startsWith(".")) return undefined;
  return relative(ROOT, resolve(dirname(join(ROOT, file)), spec)).replaceAll("\\", "/");
}

/** The imports of `file` that break the order: to a higher rank, to OUTSIDE, or computed. */
export function upwardImports(file: string, source: string): string[] {
  const rank = rankOf(file);
  if (rank === undefined) return [];
  return specifiers(source).filter((spec) => {
    if (spec === DYNAMIC) return true;
    const to = target(file, spec);
    if (to === undefined) return false;
    if (OUTSIDE.includes(to.split("/")[0])) return true;
    const toRank = rankOf(to);
    return toRank === undefined || toRank > rank;
  });
}

async function* sources(dir: string): AsyncGenerator<string> {
  const info = await Deno.stat(join(ROOT, dir));
  if (info.isFile) {
    if (/\.(ts|tsx|js|mjs)$/.test(dir)) yield dir;
    return;
  }
  for await (const entry of Deno.readDir(join(ROOT, dir))) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) yield* sources(path);
    else if (/\.(ts|tsx|js|mjs)$/.test(entry.name)) yield path;
  }
}

/** Every product file (every rank) with its source. */
async function productFiles(): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  for (const layer of LAYERS) {
    for (const top of layer) {
      for await (const file of sources(top)) {
        files.set(file, await Deno.readTextFile(join(ROOT, file)));
      }
    }
  }
  return files;
}

/** The cycles among `graph`'s nodes (Tarjan's strongly connected components of size > 1 or a self-loop). */
export function cycles(graph: Map<string, string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  let next = 0;
  const visit = (node: string) => {
    index.set(node, next);
    low.set(node, next++);
    stack.push(node);
    onStack.add(node);
    for (const to of graph.get(node) ?? []) {
      if (!index.has(to)) {
        visit(to);
        low.set(node, Math.min(low.get(node)!, low.get(to)!));
      } else if (onStack.has(to)) low.set(node, Math.min(low.get(node)!, index.get(to)!));
    }
    if (low.get(node) === index.get(node)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      if (component.length > 1 || (graph.get(node) ?? []).includes(node)) {
        found.push(component.sort());
      }
    }
  };
  for (const node of graph.keys()) if (!index.has(node)) visit(node);
  return found;
}

Deno.test("no product file imports a higher layer, a file outside the product, or a computed path", async () => {
  const files = await productFiles();
  assert.ok(files.size > 100, `scanned only ${files.size} files; the folders moved?`);
  const offences: string[] = [];
  for (const [file, source] of files) {
    for (const spec of upwardImports(file, source)) offences.push(`${file} imports ${spec}`);
  }
  assert.deepEqual(offences, []);
});

Deno.test("the product's imports have no cycle, type-only imports included", async () => {
  const files = await productFiles();
  const graph = new Map<string, string[]>();
  for (const [file, source] of files) {
    const targets = specifiers(source).map((spec) => target(file, spec))
      .filter((to): to is string => to !== undefined && files.has(to));
    graph.set(file, targets);
  }
  assert.deepEqual(cycles(graph), []);
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
  const cases: Array<[string, string, number]> = [
    ["auth/x.ts", 'import { problem } from "../http/problem.ts";', 1],
    ["http/x.ts", 'import { problem } from "./problem.ts";', 0],
    ["http/x.ts", 'import type { ProblemBody } from "../openapi/schemas/problem.ts";', 0],
    ["openapi/x.ts", 'import type { AppEnv } from "../http/router.ts";', 1],
    ["openapi/schemas/x.ts", 'export { a } from "../../routes/captures/routes.ts";', 1],
    ["db/x.ts", 'import "../app.ts";', 1],
    ["metrics/x.ts", 'const m = await import("../routes/health.ts");', 1],
    ["metrics/x.ts", "const m = await import(`../routes/health.ts`);", 1],
    ["metrics/x.ts", "const m = await import(`../${name}.ts`);", 1],
    ["metrics/x.ts", "const m = await import(path);", 1],
    ["lifecycle/x.ts", 'import {\n  a,\n  b,\n} from "../routes/captures/handlers.ts";', 1],
    ["routes/x.ts", 'import { main } from "../main.ts";', 1],
    ["app.ts", 'import { main } from "./main.ts";', 1],
    ["db/x.ts", 'import { fake } from "../tests/fakes/cloudwatch.ts";', 1],
    ["config.ts", 'import { db } from "./db/client.ts";', 1],
    ["main.ts", 'import { createApp } from "./app.ts";', 0],
  ];
  const found = cases.map(([file, source]) => upwardImports(file, source).length);
  assert.deepEqual(found, cases.map(([, , expected]) => expected));
});

Deno.test("the cycle check finds a cycle through type-only imports and a self-import", () => {
  const graph = new Map([
    ["http/problem.ts", ["http/safe_headers.ts"]],
    ["http/safe_headers.ts", ["http/router.ts"]],
    ["http/router.ts", ["http/problem.ts"]],
    ["db/a.ts", ["db/a.ts"]],
    ["db/b.ts", ["db/a.ts"]],
  ]);
  assert.deepEqual(cycles(graph), [
    ["http/problem.ts", "http/router.ts", "http/safe_headers.ts"],
    ["db/a.ts"],
  ]);
});
