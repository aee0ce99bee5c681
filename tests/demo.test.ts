import assert from "node:assert/strict";
import {
  type Child,
  refusesConnections,
  ROOT,
  spawnDeno,
  taskArgs,
  within,
} from "./helpers/process.ts";

/** Whether `curl` is installed; without it the printed lines are replayed with fetch. */
async function hasCurl(): Promise<boolean> {
  try {
    return (await new Deno.Command("curl", { args: ["--version"], stdout: "null" }).output())
      .success;
  } catch {
    return false;
  }
}

/** Runs one printed curl line as a shell would, or its fetch equivalent; returns the body. */
async function runPrinted(line: string, curl: boolean): Promise<unknown> {
  if (curl) {
    const out = await new Deno.Command("sh", { args: ["-c", line], stdout: "piped" }).output();
    assert.ok(out.success, `failed: ${line}`);
    return JSON.parse(new TextDecoder().decode(out.stdout));
  }
  const method = /-X (\w+)/.exec(line)?.[1] ?? "GET";
  const auth = /-H "Authorization: ([^"]+)"/.exec(line)![1];
  const url = /"?(http:\/\/[^"\s]+)"?\s*$/.exec(line)![1];
  const res = await fetch(url, { method, headers: { Authorization: auth } });
  return await res.json();
}

/** Runs a printed `curl -o compare.svg` line in `dir` (or fetches its URL); returns the file. */
async function savePrinted(line: string, curl: boolean, dir: string): Promise<string> {
  assert.match(line, / -o compare\.svg /);
  if (curl) {
    const out = await new Deno.Command("sh", { args: ["-c", line], cwd: dir }).output();
    assert.ok(out.success, `failed: ${line}`);
    return await Deno.readTextFile(`${dir}/compare.svg`);
  }
  const auth = /-H "Authorization: ([^"]+)"/.exec(line)![1];
  const url = /"(http:\/\/[^"\s]+)"\s*$/.exec(line)![1];
  return await (await fetch(url, { headers: { Authorization: auth } })).text();
}

/** Starts the demo exactly as `deno task demo` does, and waits for its last printed line. */
async function startDemo(demoDir: string) {
  const demo = spawnDeno(await taskArgs("demo"), { PORT: "0", DEMO_DIR: demoDir });
  await demo.waitForLine((line) => /curl .*\/stop$/.test(line), 90_000);
  const find = (pattern: RegExp) => {
    for (const line of demo.stdout) {
      const match = pattern.exec(line);
      if (match) return match[1];
    }
    throw new Error(`nothing matches ${pattern} in\n${demo.stdout.join("\n")}`);
  };
  return {
    demo,
    docs: find(/API docs:\s+(\S+)/),
    fake: find(/Fake CloudWatch:\s+(\S+)/),
    capwatchPid: Number(find(/capwatch pid (\d+)/)),
    moreTokens: find(/More tokens:\s+(.+)$/),
    curls: demo.stdout.filter((line) => line.startsWith("  curl ")).map((line) => line.trim()),
  };
}

/**
 * The printed "More tokens" line runs as printed on a machine with Node and npm only (npx fetches
 * Deno), and mints a token the demo accepts.
 */
async function assertMoreTokensLine(line: string, url: string) {
  assert.match(line, /^JWT_SECRET=\$\(cat \S+\) npx -y deno@2 task token --sub alice$/);
  const out = await new Deno.Command("sh", {
    args: ["-c", line],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(out.success, `failed: ${line}\n${new TextDecoder().decode(out.stderr)}`);
  const token = new TextDecoder().decode(out.stdout).trim();
  const res = await fetch(`${url}/api/captures`, { headers: { Authorization: `Bearer ${token}` } });
  assert.equal(res.status, 200);
  await res.body?.cancel();
}

async function processGone(pid: number): Promise<boolean> {
  try {
    const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
    return stat.split(") ")[1]?.startsWith("Z") ?? true; // a zombie has exited
  } catch {
    return true;
  }
}

async function stopDemo(demo: Child, ports: string[], capwatchPid: number) {
  demo.kill("SIGINT");
  const status = await within(demo.status, 20_000, "the demo stopping after SIGINT");
  assert.equal(status.code, 0, demo.stderr.join("\n"));
  assert.ok(await processGone(capwatchPid), "capwatch is still running");
  for (const url of ports) assert.ok(await refusesConnections(url), `${url} still answers`);
}

Deno.test("deno task demo seeds captures and answers its printed curl lines, twice in a row", async () => {
  const demoDir = await Deno.makeTempDir({ prefix: "capwatch-demo-" });
  const curl = await hasCurl();
  try {
    for (const run of [1, 2]) {
      const started = await startDemo(demoDir);
      await using demo = started.demo;
      // If an assertion fails, capwatch (the demo's child) must not outlive the test.
      await using _capwatch = {
        async [Symbol.asyncDispose]() {
          if (!await processGone(started.capwatchPid)) Deno.kill(started.capwatchPid, "SIGKILL");
        },
      };
      const docs = await fetch(started.docs);
      assert.equal(docs.status, 200, `run ${run}: ${started.docs}`);
      await docs.body?.cancel();
      assert.equal(started.curls.length, 6);
      const [list, metrics, compare, chart, load, stop] = started.curls;

      const captures = await runPrinted(list, curl) as Array<{ name: string; status: string }>;
      assert.deepEqual(
        captures.map((c) => `${c.name} ${c.status}`).sort(),
        ["after-tuning DONE", "morning-load DONE", "nightly-batch SCHEDULED", "peak-hour RUNNING"],
        `run ${run} starts from a fresh database`,
      );

      const series = await runPrinted(metrics, curl) as {
        complete: boolean;
        series: Array<{ type: string; datapoints: unknown[] }>;
      };
      assert.deepEqual(series.series.map((s) => s.type), [
        "CPUUtilization",
        "DatabaseConnections",
      ]);
      for (const s of series.series) {
        assert.ok(s.datapoints.length >= 59, `${s.type}: a full hour of 1-minute points`);
      }

      const compared = await runPrinted(compare, curl) as {
        commonDuration: number;
        series: Array<{ type: string; change: { mean: { relative: number } } }>;
      };
      assert.equal(compared.commonDuration, 3000);
      assert.deepEqual(compared.series.map((s) => s.type), ["CPUUtilization", "DBLoad"]);
      for (const s of compared.series) {
        assert.ok(s.change.mean.relative < -0.2, `${s.type}: the tuned capture is lower`);
      }
      const svg = await savePrinted(chart, curl, demoDir);
      assert.match(svg, /^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
      assert.match(svg, /<title[^>]*>Capture &quot;after-tuning&quot; compared with/);

      const byDigest = await runPrinted(load, curl) as {
        source: string;
        groups: Array<{ statement: string; share: number }>;
      };
      assert.equal(byDigest.source, "performance-insights");
      assert.equal(byDigest.groups.length, 3, "three SQL statements");
      assert.ok(byDigest.groups.every((g) => g.statement.length > 0 && g.share > 0));

      const stopped = await runPrinted(stop, curl) as { name: string; status: string };
      assert.equal(stopped.name, "peak-hour");
      assert.equal(stopped.status, "DONE");

      const url = new URL(started.docs).origin;
      if (run === 1) await assertMoreTokensLine(started.moreTokens, url);
      await stopDemo(demo, [url, started.fake], started.capwatchPid);
    }
  } finally {
    await Deno.remove(demoDir, { recursive: true }).catch(() => {});
  }
});
