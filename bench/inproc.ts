// deno task bench:inproc: per-request CPU cost of capwatch's hot requests, in-process (app.fetch,
// no HTTP), on the same seeded database bench:load uses, with the request log written as main.ts
// writes it but to a discarding sink. Prints the process's CPU time per request (user + system,
// which other jobs on a shared machine disturb far less than wall time; median of BENCH_ROUNDS
// rounds), sequential and with BENCH_CONCURRENCY requests in flight. For comparing changes on a
// busy machine, where wrk's absolute numbers move too much.
import process from "node:process";
import { benchApp, jsonPost } from "./inproc_app.ts";

const ROUNDS = Number(Deno.env.get("BENCH_ROUNDS") ?? 5);
const ITERATIONS = Number(Deno.env.get("BENCH_ITERATIONS") ?? 2000);
const CONCURRENCY = Number(Deno.env.get("BENCH_CONCURRENCY") ?? 50);
const ONLY = Deno.env.get("BENCH_ONLY")?.split(",");
const COUNT = Number(Deno.env.get("BENCH_CAPTURES") ?? 1_000);

let logged = 0;
const { app, seeded, auth, close } = await benchApp(COUNT, (line) => void (logged += line.length));
let posted = 0;

const requests: Record<string, () => Request> = {
  get: () => new Request(`http://x/api/captures/${seeded.captureId}`, { headers: auth }),
  list: () => new Request("http://x/api/captures?limit=50", { headers: auth }),
  post: () =>
    jsonPost("http://x/api/captures", auth, {
      envId: seeded.envId,
      name: `inproc-${Date.now()}-${posted++}`,
      start: new Date(Date.now() - 7_200_000).toISOString(),
      duration: 3600,
    }),
  // As bench:load posts: running from now for an hour, so the running quota's overlap count runs
  // over every live capture posted before it.
  post_live: () =>
    jsonPost("http://x/api/captures", auth, {
      envId: seeded.envId,
      name: `inproc-live-${posted++}`,
      duration: 3600,
    }),
  metrics: () =>
    new Request(`http://x/api/captures/${seeded.snapshotCaptureId}/metrics`, { headers: auth }),
};

async function one(make: () => Request, expected: number) {
  const res = await app.fetch(make());
  await res.arrayBuffer();
  if (res.status !== expected) throw new Error(`${res.status} for ${make().url}`);
}

const cpuMicros = () => {
  const { user, system } = process.cpuUsage();
  return user + system;
};
const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];

for (const [name, make] of Object.entries(requests)) {
  if (ONLY && !ONLY.includes(name)) continue;
  const expected = name.startsWith("post") ? 201 : 200;
  for (let i = 0; i < 200; i++) await one(make, expected);
  const sequential: number[] = [];
  const concurrent: number[] = [];
  const concurrentWall: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    let started = cpuMicros();
    for (let i = 0; i < ITERATIONS; i++) await one(make, expected);
    sequential.push((cpuMicros() - started) / ITERATIONS);
    started = cpuMicros();
    const wallStarted = performance.now();
    let left = ITERATIONS;
    await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
      while (left-- > 0) await one(make, expected);
    }));
    concurrent.push((cpuMicros() - started) / ITERATIONS);
    concurrentWall.push((performance.now() - wallStarted) * 1000 / ITERATIONS);
  }
  console.log(
    `${name.padEnd(8)} ${median(sequential).toFixed(1).padStart(8)} µs CPU sequential  ` +
      `${median(concurrent).toFixed(1).padStart(8)} µs at ${CONCURRENCY} in flight ` +
      `(${median(concurrentWall).toFixed(1)} µs wall), RSS ${
        Math.round(Deno.memoryUsage().rss / 1048576)
      } MB`,
  );
}
await close();
