// deno run -A --v8-flags=--max-semi-space-size=4,--heap-growing-percent=30 bench/profile_alloc.ts [path]: where one request
// type allocates (V8 sampling heap profiler, 50 in flight through app.fetch on the bench:load database),
// in bytes per request by function. Garbage is what the young-generation GC pays for. The path
// `post` POSTs captures as bench:load does (running from now for an hour).
// deno-lint-ignore-file no-explicit-any -- V8 inspector protocol messages are untyped JSON
import { Session } from "node:inspector";
import { benchApp, jsonPost } from "./inproc_app.ts";
const { app, auth, seeded, close } = await benchApp();
const path = Deno.args[0] ?? `/api/captures/${seeded.captureId}`;
let posted = 0;
const make = path === "post"
  ? () =>
    jsonPost("http://x/api/captures", auth, {
      envId: seeded.envId,
      name: `alloc-${posted++}`,
      duration: 3600,
    })
  : () => new Request("http://x" + path, { headers: auth });
for (let i = 0; i < 2000; i++) await (await app.fetch(make())).arrayBuffer();
const s = new Session();
s.connect();
const post = (m: string, p = {}) =>
  new Promise<any>((res, rej) => s.post(m, p, (e: any, r: any) => e ? rej(e) : res(r)));
await post("HeapProfiler.enable");
await post("HeapProfiler.startSampling", {
  samplingInterval: 256,
  includeObjectsCollectedByMajorGC: true,
  includeObjectsCollectedByMinorGC: true,
});
const N = 20000;
let left = N;
await Promise.all(Array.from({ length: 50 }, async () => {
  while (left-- > 0) await (await app.fetch(make())).arrayBuffer();
}));
const { profile } = await post("HeapProfiler.stopSampling");
const by = new Map<string, number>();
let total = 0;
const walk = (n: any) => {
  const f = n.callFrame;
  const k = `${f.functionName || "(anon)"} ${
    f.url.replace(/^.*node_modules\/\.deno\//, "").replace(new URL("../", import.meta.url).href, "")
  }:${f.lineNumber + 1}`;
  by.set(k, (by.get(k) ?? 0) + n.selfSize);
  total += n.selfSize;
  n.children.forEach(walk);
};
walk(profile.head);
console.log(`${(total / N).toFixed(0)} bytes/req sampled`);
console.log(
  [...by].sort((a, b) => b[1] - a[1]).slice(0, 30).map(([k, v]) =>
    `${(v / N).toFixed(0).padStart(6)} B  ${k}`
  ).join("\n"),
);
s.disconnect();
await close();
