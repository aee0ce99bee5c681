// `deno run -A bench/cold_start.ts [runs]`: milliseconds from spawning `deno task start` (main.ts)
// to its first authenticated 200 (GET /api/captures), on a fresh database each run; prints the
// median and every run. Used to state what a dependency adds to cold start (README).
import { mintToken } from "../auth/mint.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const SECRET = "cold-start-secret-that-is-at-least-32-bytes";
const runs = Number(Deno.args[0] ?? 7);

async function once(): Promise<number> {
  const dir = await Deno.makeTempDir({ prefix: "capwatch-cold-" });
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const token = await mintToken(SECRET, { sub: "bench", ttlSeconds: 600 });
  const started = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "main.ts"],
    cwd: ROOT,
    env: {
      PORT: String(port),
      DATABASE_URL: `file:${dir}/c.db`,
      JWT_SECRET: SECRET,
      LOG_LEVEL: "error",
    },
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    for (;;) {
      try {
        const res = await fetch(`http://127.0.0.1:${port}/api/captures`, {
          headers: { Authorization: `Bearer ${token}` },
        });
        await res.body?.cancel();
        if (res.status === 200) return performance.now() - started;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 5));
    }
  } finally {
    child.kill("SIGTERM");
    await child.status;
    await Deno.remove(dir, { recursive: true });
  }
}

const times: number[] = [];
for (let i = 0; i < runs; i++) times.push(await once());
const sorted = [...times].sort((a, b) => a - b);
console.log(JSON.stringify({
  medianMs: Math.round(sorted[Math.floor(sorted.length / 2)]),
  runsMs: times.map(Math.round),
}));
