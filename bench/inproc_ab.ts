// deno run --v8-flags=--max-semi-space-size=4,--heap-growing-percent=30 -A bench/inproc_ab.ts
//   <other checkout>/bench/inproc_app.ts: CPU per POST of another checkout's app ("before") and
// this one's ("after") in one process, each on its own copy of the bench database, in rounds of
// AB_POSTS POSTs at 50 in flight that alternate every round (AB_ROUNDS of each, ABBA order), so
// both see the same minutes of a shared machine. POSTs as bench:load sends them (running from now
// for an hour). Prints each round's CPU µs per POST (process user + system), the medians and
// after/before. With AB_PATH (e.g. /api/captures/{capture} or /api/captures/{snapshot}/metrics) it
// GETs that path instead, the seeded capture's or snapshot capture's id filled in (200 expected).
// For comparing a change on a busy machine; a checkout of another commit can be
// made with `git archive <commit> | tar -x -C DIR` and its node_modules linked to this one's.
// deno-lint-ignore-file no-explicit-any -- the other checkout's module is typed only at run time
import process from "node:process";
import * as after from "./inproc_app.ts";

const otherPath = Deno.args[0];
if (!otherPath) throw new Error("usage: bench/inproc_ab.ts <other checkout>/bench/inproc_app.ts");
const before = await import(new URL(otherPath, `file://${Deno.cwd()}/`).href);
const ROUNDS = Number(Deno.env.get("AB_ROUNDS") ?? 20);
const POSTS = Number(Deno.env.get("AB_POSTS") ?? 2000);
const PATH = Deno.env.get("AB_PATH");
const apps = [await before.benchApp(1000, () => {}), await after.benchApp(1000, () => {})];
const modules: any[] = [before, after];
let posted = 0;

/** CPU µs per POST over `n` POSTs, 50 in flight, to app `i` (0 before, 1 after). */
async function round(i: number, n: number): Promise<number> {
  const { app, auth, seeded } = apps[i];
  let left = n;
  const started = process.cpuUsage();
  await Promise.all(Array.from({ length: 50 }, async () => {
    while (left-- > 0) {
      const res = await app.fetch(
        PATH
          ? new Request(
            "http://x" + PATH.replace("{capture}", String(seeded.captureId))
              .replace("{snapshot}", String(seeded.snapshotCaptureId)),
            { headers: auth },
          )
          : modules[i].jsonPost("http://x/api/captures", auth, {
            envId: seeded.envId,
            name: `ab-${posted++}`,
            duration: 3600,
          }),
      );
      await res.arrayBuffer();
      if (res.status !== (PATH ? 200 : 201)) throw new Error(`answered ${res.status}`);
    }
  }));
  const used = process.cpuUsage(started);
  return (used.user + used.system) / n;
}

await round(0, 500);
await round(1, 500);
const cpu: number[][] = [[], []];
for (let r = 0; r < ROUNDS; r++) {
  for (const i of r % 2 ? [1, 0] : [0, 1]) cpu[i].push(await round(i, POSTS));
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
for (const [i, name] of ["before", "after"].entries()) {
  console.log(
    `${name} ${cpu[i].map((x) => x.toFixed(0)).join(" ")} median ${median(cpu[i]).toFixed(1)}`,
  );
}
console.log(`after/before ${(median(cpu[1]) / median(cpu[0])).toFixed(3)}`);
for (const { close } of apps) await close();
