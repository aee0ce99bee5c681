// deno task bench:profile:inproc <get|list|metrics|post|notfound> [N] [rows]: a CPU profile of N
// requests (50 in flight) through app.fetch on the bench:load database, summed by
// function (self time, % and µs per request). For finding where time goes; the profiler slows it.
// deno-lint-ignore-file no-explicit-any -- V8 inspector protocol messages are untyped JSON
import { Session } from "node:inspector";
import { benchApp, jsonPost } from "./inproc_app.ts";
const { app, auth, seeded, close } = await benchApp();
let k = 0;
const cases: Record<string, () => Request> = {
  notfound: () => new Request("http://x/nope"),
  get: () => new Request(`http://x/api/captures/${seeded.captureId}`, { headers: auth }),
  list: () => new Request("http://x/api/captures?limit=50", { headers: auth }),
  metrics: () =>
    new Request(`http://x/api/captures/${seeded.snapshotCaptureId}/metrics`, { headers: auth }),
  post: () =>
    jsonPost("http://x/api/captures", auth, {
      envId: seeded.envId,
      name: `p-${k++}`,
      duration: 3600,
    }),
};
const make = cases[Deno.args[0] ?? "get"];
const N = Number(Deno.args[1] ?? 20000);
for (let i = 0; i < 2000; i++) {
  const r = await app.fetch(make());
  await r.arrayBuffer();
}
const s = new Session();
s.connect();
const post = (m: string, p = {}) =>
  new Promise<any>((res, rej) => s.post(m, p, (e: any, r: any) => e ? rej(e) : res(r)));
await post("Profiler.enable");
await post("Profiler.setSamplingInterval", { interval: 50 });
await post("Profiler.start");
const t = performance.now();
let left = N;
await Promise.all(Array.from({ length: 50 }, async () => {
  while (left-- > 0) {
    const r = await app.fetch(make());
    await r.arrayBuffer();
  }
}));
const us = (performance.now() - t) * 1000 / N;
const { profile } = await post("Profiler.stop");
console.log(`${us.toFixed(1)} µs/req`);
const total = profile.nodes.reduce((s: number, n: any) => s + n.hitCount, 0);
const by = new Map<string, number>();
for (const n of profile.nodes) {
  const f = n.callFrame;
  const key = `${f.functionName || "(anon)"} ${
    f.url.replace(/^.*node_modules\/\.deno\//, "").replace(new URL("../", import.meta.url).href, "")
  }:${f.lineNumber + 1}`;
  by.set(key, (by.get(key) ?? 0) + n.hitCount);
}
console.log(
  [...by].sort((a, b) => b[1] - a[1]).slice(0, Number(Deno.args[2] ?? 40)).map(([k, v]) =>
    `${(100 * v / total).toFixed(1).padStart(5)}% ${(us * v / total).toFixed(1).padStart(5)}µs ${k}`
  ).join("\n"),
);
s.disconnect();
await close();
