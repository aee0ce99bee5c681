// The hot answers are built whole (http/answer.ts), and the middleware that adds or checks headers
// after the handler leaves them alone. Over a real HTTP server, since the point is what Deno
// writes: each still carries every header the other answers get (X-Request-Id, the security
// headers, CORS) plus its own (ETag, Link, Vary, RateLimit), each once; and an unsafe value in one
// is dropped and logged, never reaching Deno's writer.
import assert from "node:assert/strict";
import { Hono } from "hono";
import { answerJson } from "../http/answer.ts";
import type { AppEnv } from "../http/router.ts";
import { requestPipeline } from "../routes/request_pipeline.ts";
import { type TestContext, testContext } from "./helpers/context.ts";
import { captureWithSnapshot } from "./helpers/snapshot_capture.ts";

const NOW = "2026-03-01T00:00:00Z";

/** Serves `t`'s app on a real listener; `get` sends a GET as `user` and reads the whole answer. */
function served(t: TestContext) {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, t.app.fetch);
  const get = async (user: string, path: string, headers: Record<string, string> = {}) => {
    const res = await fetch(`http://127.0.0.1:${server.addr.port}${path}`, {
      headers: { Authorization: `Bearer ${await t.token(user)}`, ...headers },
    });
    return { res, text: await res.text() };
  };
  return { get, [Symbol.asyncDispose]: () => server.shutdown() };
}

/** Asserts the headers every capwatch answer carries, each exactly once. */
function assertRequestWide(res: Response, requestId: string, where: string) {
  assert.equal(res.headers.get("x-request-id"), requestId, where);
  assert.equal(res.headers.get("x-content-type-options"), "nosniff", where);
  assert.equal(res.headers.get("referrer-policy"), "no-referrer", where);
}

Deno.test("GET one capture, 304, lists and snapshot metrics over HTTP carry every header once", async () => {
  await using t = await testContext({ now: NOW });
  await using http = served(t);
  const env = await t.createEnvironment("owner");
  const { id } = await captureWithSnapshot(t, env.id, 7);
  await captureWithSnapshot(t, env.id, 8);

  const one = await http.get("owner", `/api/captures/${id}`, { "X-Request-Id": "req-one" });
  assert.equal(one.res.status, 200);
  assertRequestWide(one.res, "req-one", "GET one");
  assert.equal(one.res.headers.get("content-type"), "application/json");
  assert.match(one.res.headers.get("etag") ?? "", /^"[^",]+"$/);
  assert.equal(JSON.parse(one.text).id, id);

  const etag = one.res.headers.get("etag")!;
  const unchanged = await http.get("owner", `/api/captures/${id}`, {
    "X-Request-Id": "req-304",
    "If-None-Match": etag,
  });
  assert.equal(unchanged.res.status, 304);
  assert.equal(unchanged.text, "");
  assert.equal(unchanged.res.headers.get("etag"), etag);
  assertRequestWide(unchanged.res, "req-304", "304");

  const lists = [
    [
      `/api/captures?envId=${env.id}&limit=1`,
      /^<\/api\/captures\?envId=\d+&limit=1&cursor=[^>]+>; rel="next"$/,
    ],
    [`/api/captures?envId=${env.id}&limit=50`, null],
    ["/api/environments?limit=50", null],
    [`/api/environments/${env.id}/members?limit=50`, null],
  ] as const;
  for (const [path, link] of lists) {
    const list = await http.get("owner", path, { "X-Request-Id": "req-list" });
    assert.equal(list.res.status, 200, path);
    assertRequestWide(list.res, "req-list", path);
    assert.equal(list.res.headers.get("content-type"), "application/json", path);
    assert.ok(Array.isArray(JSON.parse(list.text)), path);
    if (link) assert.match(list.res.headers.get("link") ?? "", link, path);
    else assert.equal(list.res.headers.get("link"), null, path);
  }

  // Twice: the second is the remembered answer text (metrics/snapshot_cache.ts).
  for (const round of [1, 2]) {
    const metrics = await http.get(
      "owner",
      `/api/captures/${id}/metrics?type=CPUUtilization`,
      { "X-Request-Id": `req-metrics-${round}` },
    );
    assert.equal(metrics.res.status, 200);
    assertRequestWide(metrics.res, `req-metrics-${round}`, "metrics");
    assert.equal(metrics.res.headers.get("content-type"), "application/json");
    assert.equal(metrics.res.headers.get("vary"), "Accept");
    assert.match(metrics.res.headers.get("ratelimit-policy") ?? "", /^"metrics";q=\d+;w=60$/);
    assert.match(metrics.res.headers.get("ratelimit") ?? "", /^"metrics";r=\d+;t=\d+$/);
    assert.equal(JSON.parse(metrics.text).source, "snapshot");
  }

  // An answer not built whole (a problem) carries the same request-wide headers.
  const missing = await http.get("owner", "/api/captures/999999", { "X-Request-Id": "req-404" });
  assert.equal(missing.res.status, 404);
  assertRequestWide(missing.res, "req-404", "404");
});

Deno.test("with CORS_ORIGINS, a whole answer also carries the CORS headers", async () => {
  await using t = await testContext({ now: NOW, env: { CORS_ORIGINS: "https://app.example" } });
  await using http = served(t);
  const env = await t.createEnvironment("owner");
  const { id } = await captureWithSnapshot(t, env.id, 7);
  const one = await http.get("owner", `/api/captures/${id}`, {
    Origin: "https://app.example",
    "X-Request-Id": "req-cors",
  });
  assert.equal(one.res.status, 200);
  assertRequestWide(one.res, "req-cors", "GET one with CORS");
  assert.equal(one.res.headers.get("access-control-allow-origin"), "https://app.example");
  assert.match(one.res.headers.get("access-control-expose-headers") ?? "", /X-Request-Id/);
  assert.equal(one.res.headers.get("vary"), "Origin");
  assert.ok(one.res.headers.get("etag"));
});

Deno.test("POST /api/captures' 201 is built whole: every header once, CORS too, and replayed alike", async () => {
  await using t = await testContext({ now: NOW, env: { CORS_ORIGINS: "https://app.example" } });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, t.app.fetch);
  try {
    const env = await t.createEnvironment("owner");
    const post = async (name: string, headers: Record<string, string>) => {
      const res = await fetch(`http://127.0.0.1:${server.addr.port}/api/captures`, {
        method: "POST",
        headers: {
          Authorization: `Bearer ${await t.token("owner")}`,
          "Content-Type": "application/json",
          ...headers,
        },
        body: JSON.stringify({ name, envId: env.id, duration: 3600 }),
      });
      return { res, body: await res.json() };
    };
    const plain = await post("plain", { "X-Request-Id": "req-post" });
    assert.equal(plain.res.status, 201);
    assertRequestWide(plain.res, "req-post", "POST");
    assert.equal(plain.res.headers.get("content-type"), "application/json");
    assert.equal(plain.res.headers.get("location"), `/api/captures/${plain.body.id}`);
    assert.equal(plain.res.headers.get("etag"), `"c.${plain.body.id}.1.RUNNING"`);
    assert.equal(plain.res.headers.get("access-control-allow-origin"), null);

    const cors = { Origin: "https://app.example", "Idempotency-Key": "k-1" };
    const first = await post("cors", { ...cors, "X-Request-Id": "req-first" });
    const replay = await post("cors", { ...cors, "X-Request-Id": "req-replay" });
    for (const [answer, id] of [[first, "req-first"], [replay, "req-replay"]] as const) {
      assert.equal(answer.res.status, 201, id);
      assertRequestWide(answer.res, id, id);
      assert.equal(answer.res.headers.get("access-control-allow-origin"), "https://app.example");
      assert.equal(answer.res.headers.get("vary"), "Origin");
      assert.equal(answer.res.headers.get("location"), `/api/captures/${first.body.id}`, id);
      assert.equal(answer.res.headers.get("etag"), `"c.${first.body.id}.1.RUNNING"`, id);
    }
    assert.equal(first.res.headers.get("idempotent-replayed"), null);
    assert.equal(replay.res.headers.get("idempotent-replayed"), "true");
    assert.deepEqual(replay.body, first.body);
  } finally {
    await server.shutdown();
  }
});

Deno.test("answerJson() leaves out a header value Deno's writer would panic on and logs its name", async () => {
  await using t = await testContext({ now: NOW });
  const app = new Hono<AppEnv>();
  app.use("*", requestPipeline(t.deps, 10));
  app.get("/", (c) => answerJson(c, { ok: true }, 200, { "X-Bad": "a\x01b", "X-Fine": "plain" }));
  await using server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    app.fetch,
  );
  const url = `http://127.0.0.1:${server.addr.port}/`;
  for (let i = 0; i < 2; i++) {
    const res = await fetch(url, { headers: { "X-Request-Id": "req-bad" } });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { ok: true });
    assert.equal(res.headers.get("x-bad"), null);
    assert.equal(res.headers.get("x-fine"), "plain");
    assertRequestWide(res, "req-bad", "unsafe header");
  }
  const warnings = t.logLines.map((line) => JSON.parse(line))
    .filter((line) => line.msg === "unsafe response header dropped");
  assert.equal(warnings.length, 2);
  assert.deepEqual(warnings[0].names, ["X-Bad"]);
  assert.equal(warnings[0].requestId, "req-bad");
  assert.ok(!t.logLines.some((line) => line.includes("a\\u0001b")), "the value is never logged");
});
