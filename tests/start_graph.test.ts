// What every process start evaluates: main.ts's static module graph. The chart and CSV writers
// (d3, csv-stringify: ~14 ms of imports) load with the first request that asks for a chart or a
// CSV (routes/captures/compare_handler.ts, metrics_handler.ts), so the static graph reaches none
// of them; a static import of either would put them back into every start.
import assert from "node:assert/strict";

const ROOT = new URL("../", import.meta.url).pathname;

interface InfoModule {
  specifier: string;
  kind?: string;
  npmPackage?: string;
  dependencies?: { code?: { specifier: string }; isDynamic?: boolean }[];
}

/** The npm packages reached from `root` through static (not dynamic, not type-only) imports. */
function staticNpmPackages(root: string): Set<string> {
  const out = new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", root],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).outputSync();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  const info = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    roots: string[];
    modules: InfoModule[];
    redirects: Record<string, string>;
  };
  const bySpecifier = new Map(info.modules.map((m) => [m.specifier, m]));
  const packages = new Set<string>();
  const seen = new Set<string>();
  const pending = [...info.roots];
  while (pending.length > 0) {
    const specifier = pending.pop()!;
    const resolved = info.redirects[specifier] ?? specifier;
    if (seen.has(resolved)) continue;
    seen.add(resolved);
    const module = bySpecifier.get(resolved);
    // "name@version_peers", the name possibly scoped (@hono/zod-openapi@1.6.3_hono@4.13.19).
    if (module?.npmPackage) packages.add(/^(@?[^@]+)@/.exec(module.npmPackage)![1]);
    for (const dependency of module?.dependencies ?? []) {
      if (dependency.code && !dependency.isDynamic) pending.push(dependency.code.specifier);
    }
  }
  return packages;
}

Deno.test("a process start loads neither d3 nor csv-stringify: main.ts imports them only dynamically", () => {
  const packages = staticNpmPackages("main.ts");
  // The walk itself works: the libraries every start needs are reached.
  for (const needed of ["hono", "zod", "drizzle-orm", "jose"]) {
    assert.ok(packages.has(needed), `${needed} not found in ${[...packages].join(", ")}`);
  }
  const late = [...packages].filter((name) => /^d3-|^csv-stringify$/.test(name));
  assert.deepEqual(late, []);
});
