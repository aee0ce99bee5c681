// What capwatch itself enforces on connections, over real listeners: a trickled body is cut with
// 408 and its connection closed, requests past the in-flight cap get 503 with Retry-After, and a
// process out of file descriptors keeps running and answers again once they are freed. (Header
// and idle timeouts and a connection cap are the front proxy's job: see deploy/nginx.conf.)
import assert from "node:assert/strict";
import { createApp, type RequestLimits } from "../app.ts";
import { testContext } from "./helpers/context.ts";
import { startServer } from "./helpers/process.ts";
import { bytes, connectTo, readAnswer, writeAll } from "./helpers/raw_http.ts";

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** capwatch with these request limits on a real listener (port 0): its origin; closed when disposed. */
function listening(t: { deps: Parameters<typeof createApp>[0] }, limits: RequestLimits) {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    createApp(t.deps, limits).fetch,
  );
  return {
    origin: `http://127.0.0.1:${server.addr.port}`,
    [Symbol.asyncDispose]: () => server[Symbol.asyncDispose](),
  };
}

/** Starts a POST whose body (Content-Length 1000) arrives one byte every `everyMs`. */
async function trickle(origin: string, token: string, everyMs: number) {
  const conn = await connectTo(origin);
  await writeAll(
    conn,
    bytes(
      "POST /api/captures HTTP/1.1\r\nHost: capwatch\r\nContent-Type: application/json\r\n",
      `Authorization: Bearer ${token}\r\nContent-Length: 1000\r\n\r\n{`,
    ),
  );
  let stopped = false;
  const sending = (async () => {
    while (!stopped) {
      await delay(everyMs);
      if (stopped) break;
      await conn.write(bytes(" ")).catch(() => stopped = true);
    }
  })();
  return {
    conn,
    async stop() {
      stopped = true;
      await sending;
    },
  };
}

Deno.test({
  name:
    "bodies trickled at once are each cut at their own deadline (one timer watches them all), and bodies in time between them are served",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using t = await testContext();
    await using listener = listening(t, { bodyTimeoutMs: 1000, maxInFlight: 256 });
    const origin = listener.origin;
    const token = await t.token("alice");
    const inTime = async (name: string) => {
      const res = await fetch(`${origin}/api/environments`, {
        method: "POST",
        headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
        body: JSON.stringify({ name, region: "us-east-1", dbInstanceIdentifier: "db-1" }),
      });
      assert.equal(res.status, 201, await res.text());
    };
    const cut = async (startAfterMs: number) => {
      await delay(startAfterMs);
      const started = performance.now();
      const slow = await trickle(origin, token, 100);
      await inTime(`between-${startAfterMs}`);
      const answer = await readAnswer(slow.conn, 8000);
      const tookMs = performance.now() - started;
      await slow.stop();
      slow.conn.close();
      return { status: answer.status, tookMs };
    };
    const answers = await Promise.all([cut(0), cut(400), cut(700)]);
    for (const { status, tookMs } of answers) {
      assert.equal(status, 408);
      // Its own deadline, not the earliest one in flight: never cut before its 1 s has passed.
      assert.ok(tookMs >= 950 && tookMs < 5000, `took ${tookMs} ms`);
    }
    await inTime("after");
  },
});

Deno.test({
  name:
    "a body trickled past the body timeout gets a 408 within the bound, marked Connection: close",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using t = await testContext();
    await using listener = listening(t, { bodyTimeoutMs: 1000, maxInFlight: 256 });
    const origin = listener.origin;
    const started = performance.now();
    const slow = await trickle(origin, await t.token("alice"), 100);
    const answer = await readAnswer(slow.conn, 8000);
    const tookMs = performance.now() - started;
    await slow.stop();
    slow.conn.close();
    assert.equal(answer.status, 408, answer.body);
    // Deno 2.9 keeps the socket open despite this header (measured; see README), so closing
    // the connection is the front proxy's job; the request itself has ended.
    assert.ok(answer.headers.some(([name, value]) => name === "connection" && value === "close"));
    assert.match(JSON.parse(answer.body).detail, /within 1 s/);
    // The issue asks for a bound: cut at 1 s, answered and closed well before 8 s.
    assert.ok(tookMs < 5000, `took ${tookMs} ms`);

    // A body that arrives in time is still served.
    const ok = await fetch(`${origin}/api/environments`, {
      method: "POST",
      headers: {
        Authorization: `Bearer ${await t.token("alice")}`,
        "Content-Type": "application/json",
      },
      body: JSON.stringify({ name: "in-time", region: "us-east-1", dbInstanceIdentifier: "db-1" }),
    });
    assert.equal(ok.status, 201, await ok.text());
  },
});

Deno.test({
  name: "requests past the in-flight cap get 503 with Retry-After until the slow ones end",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using t = await testContext();
    await using listener = listening(t, { bodyTimeoutMs: 60_000, maxInFlight: 2 });
    const origin = listener.origin;
    const token = await t.token("alice");
    const list = () =>
      fetch(`${origin}/api/environments`, { headers: { Authorization: `Bearer ${token}` } });

    const slow = [await trickle(origin, token, 200), await trickle(origin, token, 200)];
    let refused: Response | undefined;
    for (let i = 0; i < 50 && !refused; i++) {
      const res = await list();
      if (res.status === 503) refused = res;
      else await res.body?.cancel();
      if (!refused) await delay(50);
    }
    assert.ok(refused, "no 503 while two slow requests were in flight");
    assert.equal(refused.headers.get("retry-after"), "1");
    assert.match((await refused.json()).detail, /More than 2 requests are in flight/);
    // /health is outside the cap.
    const health = await fetch(`${origin}/health`);
    await health.body?.cancel();
    assert.equal(health.status, 200);

    for (const s of slow) {
      await s.stop();
      s.conn.close();
    }
    let status = 0;
    for (let i = 0; i < 50 && status !== 200; i++) {
      const res = await list();
      status = res.status;
      await res.body?.cancel();
      if (status !== 200) await delay(100);
    }
    assert.equal(status, 200, "the cap was not released when the slow requests ended");
  },
});

Deno.test({
  name: "out of file descriptors, the process keeps running and answers once they are freed",
  sanitizeResources: false,
  async fn() {
    await using server = await startServer({}, { wrapper: ["prlimit", "--nofile=64"] });
    const health = async () => {
      const res = await fetch(`${server.url}/health`, { signal: AbortSignal.timeout(5000) });
      await res.body?.cancel();
      return res.status;
    };
    assert.equal(await health(), 200);

    // Open more connections than the process has descriptors; some are refused or reset.
    const conns: Deno.TcpConn[] = [];
    for (let i = 0; i < 100; i++) {
      try {
        conns.push(await connectTo(server.url));
      } catch {
        break; // the listener is gone: exactly the failure being tested
      }
    }
    assert.ok(conns.length > 0);
    await delay(500);
    for (const conn of conns) conn.close();

    let status = 0;
    for (let i = 0; i < 50 && status !== 200; i++) {
      status = await health().catch(() => 0);
      if (status !== 200) await delay(200);
    }
    assert.equal(
      status,
      200,
      `no answer after the descriptors were freed\n${server.stderr.join("\n")}`,
    );
    assert.ok(
      server.stdout.some((line) => line.includes("Too many open files")),
      "the descriptor exhaustion never happened, so this test proved nothing",
    );
    const exited = await Promise.race([
      server.status.then(() => true),
      delay(100).then(() => false),
    ]);
    assert.equal(exited, false);
  },
});
