// deno task bench:load: capwatch over real HTTP under wrk, next to a bare Deno.serve answering
// the same bytes as the list page in the same run, so the ratio shows what capwatch costs per
// request apart from the machine and the HTTP stack.
import { createLogger } from "../logger.ts";
import { testContext } from "../tests/helpers/context.ts";

const SEED = 500;
const WRK = ["-t2", "-c32", "-d5s", "--timeout", "2s", "--latency"];
const WARMUP = ["-t2", "-c32", "-d1s", "--timeout", "2s"];

/** Runs wrk with `args`, killed if it outlives its duration by far; answers its stdout. */
async function wrk(args: string[]): Promise<string> {
  const out = await new Deno.Command("wrk", {
    args,
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(20_000),
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) {
    throw new Error(`wrk failed (${out.code}): ${new TextDecoder().decode(out.stderr)}${text}`);
  }
  return text;
}

async function wrkInstalled(): Promise<boolean> {
  try {
    await new Deno.Command("wrk", { args: ["--version"], stdout: "null", stderr: "null" }).output();
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/** wrk prints latencies as 812.00us, 1.23ms or 1.05s; answers milliseconds. */
function ms(value: string): number {
  const m = value.match(/^([\d.]+)(us|ms|s|m)$/);
  if (!m) throw new Error(`cannot read the wrk latency "${value}"`);
  const scale: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000 };
  return Number(m[1]) * scale[m[2]];
}

interface Result {
  rps: number;
  p50: number;
  p99: number;
  requests: number;
  bad: number;
}

function parse(output: string): Result {
  const find = (re: RegExp) => {
    const m = output.match(re);
    if (!m) throw new Error(`unexpected wrk output:\n${output}`);
    return m[1];
  };
  const errors = output.match(
    /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/,
  );
  return {
    rps: Number(find(/Requests\/sec:\s+([\d.]+)/)),
    p50: ms(find(/^\s+50%\s+(\S+)/m)),
    p99: ms(find(/^\s+99%\s+(\S+)/m)),
    requests: Number(find(/(\d+) requests in/)),
    bad: Number(output.match(/Non-2xx or 3xx responses: (\d+)/)?.[1] ?? 0) +
      (errors ? errors.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0),
  };
}

if (!await wrkInstalled()) {
  console.error(
    "bench:load needs wrk, the only load generator here fast enough to tell capwatch from a " +
      "bare server. Install it (Debian/Ubuntu): sudo apt-get install -y wrk",
  );
  Deno.exit(1);
}

// The real app on a temp database, logging as in production (one JSON line per request) but
// into a sink, so the terminal is not the bottleneck.
await using t = await testContext({
  now: "2026-01-01T00:00:00Z",
  deps: { logger: createLogger("info", () => {}) },
});
const env = await t.createEnvironment("owner");
for (let i = 0; i < SEED; i++) {
  const res = await t.as("owner").post("/api/captures", {
    name: `capture-${i}`,
    envId: env.id,
    start: "2025-12-31T00:00:00Z",
    duration: 3600,
  });
  if (res.status !== 201) throw new Error(`seed failed: ${res.status} ${await res.text()}`);
}
const authorization = `Bearer ${await t.token("owner", 24 * 3600)}`;
const pageRes = await t.app.request("/api/captures?limit=50", {
  headers: { Authorization: authorization },
});
const page = await pageRes.text();
const ids = (JSON.parse(page) as { id: number }[]).map((c) => c.id);
const oneId = ids[Math.floor(ids.length / 2)];

const quiet = { hostname: "127.0.0.1", port: 0, onListen: () => {} };
const bare = Deno.serve(
  quiet,
  () => new Response(page, { headers: { "Content-Type": "application/json" } }),
);
const api = Deno.serve(quiet, t.app.fetch);
const urlOf = (s: Deno.HttpServer<Deno.NetAddr>) => `http://127.0.0.1:${s.addr.port}`;

const targets = [
  { name: "bare Deno.serve (list page bytes)", url: `${urlOf(bare)}/` },
  { name: "GET /health", url: `${urlOf(api)}/health` },
  { name: "GET /api/captures?limit=50", url: `${urlOf(api)}/api/captures?limit=50` },
  { name: `GET /api/captures/{id}`, url: `${urlOf(api)}/api/captures/${oneId}` },
];

console.log(
  `capwatch load: wrk ${WRK.join(" ")}, ${SEED} captures in one environment, ` +
    `${navigator.hardwareConcurrency} cores, Deno ${Deno.version.deno}`,
);
const rows: { name: string; result: Result }[] = [];
try {
  for (const target of targets) {
    // The same header everywhere, so every target parses the same request bytes.
    const header = ["-H", `Authorization: ${authorization}`];
    await wrk([...WARMUP, ...header, target.url]);
    const result = parse(await wrk([...WRK, ...header, target.url]));
    rows.push({ name: target.name, result });
    console.log(`  ${target.name}: ${Math.round(result.rps)} req/s`);
  }
} finally {
  await Promise.all([bare.shutdown(), api.shutdown()]);
}

const base = rows[0].result.rps;
const table = [
  ["target", "req/s", "p50 ms", "p99 ms", "vs bare", "non-2xx/errors"],
  ...rows.map(({ name, result: r }) => [
    name,
    Math.round(r.rps).toString(),
    r.p50.toFixed(2),
    r.p99.toFixed(2),
    `${(r.rps / base).toFixed(2)}x`,
    `${r.bad} of ${r.requests}`,
  ]),
];
const widths = table[0].map((_, i) => Math.max(...table.map((row) => row[i].length)));
console.log();
for (const [i, row] of table.entries()) {
  console.log(
    row.map((cell, j) => (j === 0 ? cell.padEnd(widths[j]) : cell.padStart(widths[j])))
      .join("  "),
  );
  if (i === 0) console.log(widths.map((w) => "-".repeat(w)).join("  "));
}
if (rows.some((r) => r.result.bad > 0)) {
  console.error(
    "\nSome requests failed or were not 2xx: the numbers above do not measure success.",
  );
  Deno.exitCode = 1;
}
