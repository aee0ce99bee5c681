// deno task bench:profile <get|list|post|metrics|health> [seconds]: a CPU profile of one capwatch
// process (as `deno task start` runs it, on the bench:load database) under wrk, taken through the
// V8 inspector, summed by function (self time) and by file. Writes the whole profile to
// data/bench/<target>.cpuprofile for Chrome DevTools. For finding where time goes, not a measure:
// the inspector itself slows the server.
// deno-lint-ignore-file no-explicit-any -- V8 inspector protocol messages are untyped JSON
import { mintToken } from "../auth/mint.ts";
import { taskCommand } from "../tests/helpers/process.ts";
import { BENCH_USER, seededDatabase } from "./seed.ts";

const target = Deno.args[0] ?? "get";
const seconds = Number(Deno.args[1] ?? 5);
const SECRET = "bench-secret-that-is-at-least-32-bytes-long";
const ROOT = new URL("../", import.meta.url).pathname;

const token = await mintToken(SECRET, { sub: BENCH_USER, ttlSeconds: 3600 });
const db = await seededDatabase(1_000);
const port = 18_000 + Math.floor(Math.random() * 1000);
const inspectPort = port + 1000;
const { env: startEnv, args } = await taskCommand("start");
const runIndex = args.indexOf("run");
args.splice(runIndex + 1, 0, `--inspect=127.0.0.1:${inspectPort}`);
const child = new Deno.Command(Deno.execPath(), {
  args,
  cwd: ROOT,
  env: {
    ...startEnv,
    PORT: String(port),
    HOST: "127.0.0.1",
    DATABASE_URL: `file:${db.path}`,
    JWT_SECRET: SECRET,
    LOG_LEVEL: "info",
    QUOTA_CAPTURES_PER_ENVIRONMENT: "1000000000",
    QUOTA_RUNNING_CAPTURES_PER_ENVIRONMENT: "1000000000",
    QUOTA_METRICS_REQUESTS_PER_MINUTE: "1000000000",
  },
  stdout: "null",
  stderr: "inherit",
}).spawn();
const base = `http://127.0.0.1:${port}`;
const paths: Record<string, string> = {
  get: `/api/captures/${db.captureId}`,
  list: "/api/captures?limit=50",
  post: "/api/captures",
  metrics: `/api/captures/${db.snapshotCaptureId}/metrics`,
  health: "/health",
};
for (const started = performance.now();;) {
  if (performance.now() - started > 30_000) {
    child.kill("SIGKILL");
    throw new Error("capwatch did not answer /health within 30 s (its stderr is above)");
  }
  try {
    const res = await fetch(base + "/health");
    await res.body?.cancel();
    if (res.ok) break;
  } catch { /* not yet */ }
  await new Promise((r) => setTimeout(r, 50));
}
const list = await (await fetch(`http://127.0.0.1:${inspectPort}/json/list`)).json();
const ws = new WebSocket(list[0].webSocketDebuggerUrl);
await new Promise((r) => ws.addEventListener("open", r, { once: true }));
let nextId = 1;
const pending = new Map<number, (v: unknown) => void>();
ws.addEventListener("message", (e) => {
  const msg = JSON.parse(e.data);
  if (msg.id && pending.has(msg.id)) {
    pending.get(msg.id)!(msg.result);
    pending.delete(msg.id);
  }
});
const send = (method: string, params: Record<string, unknown> = {}) =>
  new Promise<any>((resolve) => {
    const id = nextId++;
    pending.set(id, resolve);
    ws.send(JSON.stringify({ id, method, params }));
  });

const script = target === "post"
  ? await (async () => {
    const path = await Deno.makeTempFile({ suffix: ".lua" });
    await Deno.writeTextFile(
      path,
      // The run's duration (after --) is in each name: the warm-up's names are not posted again.
      `local n = 0
local run = ""
init = function(args) run = args[1] or "" end
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  n = n + 1
  return wrk.format(nil, nil, nil, '{"name":"prof-${
        crypto.randomUUID().slice(0, 8)
      }-' .. run .. '-' .. n .. '","envId":${db.envId},"duration":3600}')
end`,
    );
    return ["-s", path];
  })()
  : [];
const wrkRun = (d: number) =>
  new Deno.Command("wrk", {
    args: [
      "-t1",
      "-c50",
      `-d${d}s`,
      "-H",
      `Authorization: Bearer ${token}`,
      ...script,
      base + paths[target],
      "--",
      String(d),
    ],
  }).output();
await wrkRun(1);
await send("Profiler.enable");
await send("Profiler.setSamplingInterval", { interval: 100 });
await send("Profiler.start");
const out = await wrkRun(seconds);
const { profile } = await send("Profiler.stop");
console.log(
  new TextDecoder().decode(out.stdout).split("\n").filter((l) => /Req|Lat/.test(l)).join("\n"),
);
await Deno.mkdir(`${ROOT}data/bench`, { recursive: true });
await Deno.writeTextFile(`${ROOT}data/bench/${target}.cpuprofile`, JSON.stringify(profile));

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount: number;
  children?: number[];
}
const nodes = new Map<number, Node>(profile.nodes.map((n: Node) => [n.id, n]));
const total = profile.nodes.reduce((s: number, n: Node) => s + n.hitCount, 0);
const selfBy = new Map<string, number>();
const fileBy = new Map<string, number>();
for (const n of nodes.values()) {
  const f = n.callFrame;
  const file = f.url.replace(/^.*node_modules\/\.deno\//, "npm:").replace(`file://${ROOT}`, "");
  const key = `${f.functionName || "(anon)"} ${file}:${f.lineNumber + 1}`;
  selfBy.set(key, (selfBy.get(key) ?? 0) + n.hitCount);
  const fk = file.replace(/\/[^/]*$/, "") || f.functionName;
  fileBy.set(fk, (fileBy.get(fk) ?? 0) + n.hitCount);
}
// inclusive time per function
const parent = new Map<number, number>();
for (const n of nodes.values()) for (const c of n.children ?? []) parent.set(c, n.id);
const inclBy = new Map<string, number>();
for (const n of nodes.values()) {
  const seen = new Set<string>();
  let cur: number | undefined = n.id;
  while (cur !== undefined) {
    const f = nodes.get(cur)!.callFrame;
    const file = f.url.replace(/^.*node_modules\/\.deno\//, "npm:").replace(`file://${ROOT}`, "");
    const key = `${f.functionName || "(anon)"} ${file}:${f.lineNumber + 1}`;
    if (!seen.has(key)) {
      seen.add(key);
      inclBy.set(key, (inclBy.get(key) ?? 0) + n.hitCount);
    }
    cur = parent.get(cur);
  }
}
const top = (m: Map<string, number>, k: number) =>
  [...m].sort((a, b) => b[1] - a[1]).slice(0, k).map(([name, hits]) =>
    `${(100 * hits / total).toFixed(1).padStart(5)}%  ${name}`
  ).join("\n");
console.log(`\nself time (${total} samples)\n${top(selfBy, 45)}`);
console.log(`\nby directory\n${top(fileBy, 25)}`);
console.log(`\ninclusive\n${top(inclBy, 60)}`);
ws.close();
child.kill("SIGKILL");
await child.status;
// The database copy and the wrk script are this run's own.
for (const file of [db.path, `${db.path}-wal`, `${db.path}-shm`, ...script.slice(1)]) {
  await Deno.remove(file).catch(() => {});
}
