// Review of the answers built whole and the bounded body read, over real listeners (the faults live
// in what Deno writes): a CORS preflight, a metrics answer under CORS, a list's Link under a Host
// header that is not a valid authority, and trickled bodies on every route that reads one.
import assert from "node:assert/strict";
import { createApp } from "../app.ts";
import { type TestContext, testContext } from "./helpers/context.ts";
import { captureWithSnapshot } from "./helpers/snapshot_capture.ts";
import {
  bytes,
  connectTo,
  type RawAnswer,
  rawRequest,
  readAnswer,
  writeAll,
} from "./helpers/raw_http.ts";

const NOW = "2026-03-01T00:00:00Z";
const ORIGIN = "https://app.example";

/** Serves `app` on a real listener on 127.0.0.1, port 0. */
function serve(app: { fetch: (request: Request) => Response | Promise<Response> }) {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, app.fetch);
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

/** Sends one raw HTTP/1.1 request (Connection: close) and reads its answer as Deno wrote it. */
function send(url: string, method: string, path: string, headers: Record<string, string>) {
  const lines = Object.entries({ Host: "capwatch", Connection: "close", ...headers })
    .map(([name, value]) => `${name}: ${value}\r\n`).join("");
  return rawRequest(url, bytes(`${method} ${path} HTTP/1.1\r\n${lines}\r\n`));
}

/** The values of every field line named `name` (lower case), in the order Deno wrote them. */
const lines = (answer: RawAnswer, name: string) =>
  answer.headers.filter(([n]) => n === name).map(([, v]) => v);

/** Asserts the request-wide headers, each on exactly one field line. */
function assertRequestWide(answer: RawAnswer, requestId: string, where: string) {
  assert.deepEqual(lines(answer, "x-request-id"), [requestId], where);
  assert.deepEqual(lines(answer, "x-content-type-options"), ["nosniff"], where);
  assert.deepEqual(lines(answer, "referrer-policy"), ["no-referrer"], where);
}

for (const origins of [ORIGIN, "*"]) {
  Deno.test(`OPTIONS preflight with CORS_ORIGINS=${origins} carries X-Request-Id and the security headers once each`, async () => {
    await using t = await testContext({ now: NOW, env: { CORS_ORIGINS: origins } });
    await using http = serve(t.app);
    const answer = await send(http.url, "OPTIONS", "/api/captures", {
      Origin: ORIGIN,
      "Access-Control-Request-Method": "POST",
      "Access-Control-Request-Headers": "authorization,content-type",
      "X-Request-Id": "req-preflight",
    });
    assert.equal(answer.status, 204);
    assertRequestWide(answer, "req-preflight", "preflight");
  });
}

Deno.test("GET metrics with CORS_ORIGINS writes Vary on one field line", async () => {
  await using t = await testContext({ now: NOW, env: { CORS_ORIGINS: ORIGIN } });
  await using http = serve(t.app);
  const env = await t.createEnvironment("owner");
  const { id } = await captureWithSnapshot(t, env.id, 7);
  for (const accept of ["application/json", "text/csv"]) {
    const answer = await send(http.url, "GET", `/api/captures/${id}/metrics?type=CPUUtilization`, {
      Authorization: `Bearer ${await t.token("owner")}`,
      Origin: ORIGIN,
      Accept: accept,
      "X-Request-Id": "req-metrics",
    });
    assert.equal(answer.status, 200, accept);
    assertRequestWide(answer, "req-metrics", accept);
    // Two `Vary` lines mean the same as one joined, but "each header exactly once" is the claim.
    assert.deepEqual(lines(answer, "vary"), ["Accept, Origin"], accept);
  }
});

/** Two captures in one environment, so a list of one has a next page. */
async function twoCaptures(t: TestContext) {
  const env = await t.createEnvironment("owner");
  for (const name of ["first", "second"]) {
    const res = await t.as("owner").post("/api/captures", {
      envId: env.id,
      name,
      scheduledStart: "2026-03-02T00:00:00Z",
      duration: 60,
    });
    assert.equal(res.status, 201, await res.text());
  }
  return env.id;
}

// Hyper accepts any visible-ASCII Host; Deno then builds the request's URL from it, and
// `new URL(c.req.url)` (http/link.ts) throws on some and misplaces the path on others.
const ODD_HOSTS = ["a b", "x:notaport", "[::1", "a?b", "a\\b"];

Deno.test("GET a list with a next page under an odd Host header answers 200 with its own relative Link, or 400", async () => {
  await using t = await testContext({ now: NOW });
  await using http = serve(t.app);
  const envId = await twoCaptures(t);
  const token = await t.token("owner");
  const lists = [
    [`/api/captures?envId=${envId}&limit=1`, `/api/captures?envId=${envId}&limit=1&cursor=`],
    ["/api/environments?limit=1", null],
    [`/api/environments/${envId}/members?limit=1`, null],
  ] as const;
  await t.createEnvironment("owner"); // a second environment: its list has a next page too
  await t.addMember(envId, "bob"); // and a second member
  for (const host of ODD_HOSTS) {
    for (const [path, linkStart] of lists) {
      const answer = await send(http.url, "GET", path, {
        Host: host,
        Authorization: `Bearer ${token}`,
      });
      const where = `Host ${JSON.stringify(host)} ${path}`;
      // Refusing such a Host (400) would do; a 500, or a page that ignores the query, would not.
      if (answer.status === 400) continue;
      assert.equal(answer.status, 200, `${where}: ${answer.body.slice(0, 200)}`);
      const [link] = lines(answer, "link");
      assert.ok(link, `${where}: no Link (the query was not read as sent)`);
      const target = /^<([^>]*)>; rel="next"$/.exec(link)?.[1] ?? "";
      const expected = linkStart ?? path.split("?")[0];
      assert.ok(target.startsWith(expected), `${where}: Link ${link}`);
    }
  }
});

Deno.test("PUT /api/environments/{id}/members/{userId} under a Host header that is not an authority is not a 500", async () => {
  await using t = await testContext({ now: NOW });
  await using http = serve(t.app);
  const env = await t.createEnvironment("owner");
  const body = JSON.stringify({ role: "member" });
  for (const host of ODD_HOSTS) {
    const conn = await connectTo(http.url);
    try {
      await writeAll(
        conn,
        bytes(
          `PUT /api/environments/${env.id}/members/bob HTTP/1.1\r\nHost: ${host}\r\n`,
          `Authorization: Bearer ${await t.token("owner")}\r\nContent-Type: application/json\r\n`,
          `Content-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
        ),
      );
      const answer = await readAnswer(conn);
      assert.ok(
        answer.status < 500,
        `Host ${JSON.stringify(host)}: ${answer.status} ${answer.body}`,
      );
    } finally {
      conn.close();
    }
  }
});

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

Deno.test({
  name:
    "every route that reads a body answers a trickled or stalled one 408 with Connection: close (logging no error), and an oversized one 413",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using t = await testContext({ now: NOW });
    const app = createApp(t.deps, { bodyTimeoutMs: 1000, maxInFlight: 256 });
    await using http = serve(app);
    const env = await t.createEnvironment("alice");
    const created = await t.as("alice").post("/api/captures", {
      envId: env.id,
      name: "c1",
      scheduledStart: "2026-03-02T00:00:00Z",
      duration: 60,
    });
    const capture = await created.json();
    const token = await t.token("alice");
    const routes = [
      ["POST", "/api/captures"],
      ["POST", "/api/environments"],
      ["PATCH", `/api/environments/${env.id}`],
      ["PUT", `/api/environments/${env.id}/members/bob`],
      ["PUT", `/api/captures/${capture.id}`],
      ["PATCH", `/api/captures/${capture.id}`],
    ];
    const kinds = [
      // [name, extra head lines, first bytes, how the rest arrives, status]
      ["json", "Content-Type: application/json\r\nContent-Length: 1000\r\n", "{", " ", 408],
      [
        "charset",
        "Content-Type: application/json; charset=utf-8\r\nContent-Length: 1000\r\n",
        "{",
        " ",
        408,
      ],
      [
        "idempotent",
        "Content-Type: application/json\r\nIdempotency-Key: k-1\r\nContent-Length: 1000\r\n",
        "{",
        " ",
        408,
      ],
      ["no content type", "Content-Length: 1000\r\n", "{", " ", 408],
      [
        "lying length",
        "Content-Type: application/json\r\nContent-Length: 50\r\n",
        '{"a":1}',
        "",
        408,
      ],
      [
        "chunked",
        "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n",
        "1\r\n{\r\n",
        "1\r\n \r\n",
        408,
      ],
      ["too large", "Content-Type: application/json\r\nContent-Length: 70000\r\n", "{", "", 413],
    ] as const;
    const outcomes = await Promise.all(
      routes.flatMap(([method, path]) =>
        kinds.map(async ([kind, head, first, rest, status]) => {
          const where = `${method} ${path} ${kind}`;
          const conn = await connectTo(http.url);
          await writeAll(
            conn,
            bytes(
              `${method} ${path} HTTP/1.1\r\nHost: capwatch\r\nAuthorization: Bearer ${token}\r\n`,
              head,
              "\r\n",
              first,
            ),
          );
          let stopped = false;
          const sending = (async () => {
            while (!stopped && rest) {
              await delay(100);
              if (!stopped) await conn.write(bytes(rest)).catch(() => stopped = true);
            }
          })();
          try {
            const answer = await readAnswer(conn, 8000);
            assert.equal(answer.status, status, `${where}: ${answer.body.slice(0, 200)}`);
            if (status === 408) assert.deepEqual(lines(answer, "connection"), ["close"], where);
            assert.equal(lines(answer, "x-content-type-options").length, 1, where);
            return where;
          } finally {
            stopped = true;
            await sending;
            conn.close();
          }
        })
      ),
    );
    assert.equal(outcomes.length, routes.length * kinds.length);
    // A late body is the caller's pace, not our fault: no error line, no stack.
    const errors = t.logLines.filter((line) => JSON.parse(line).level === "error");
    assert.deepEqual(errors, []);
    const health = await fetch(`${http.url}/health`);
    await health.body?.cancel();
    assert.equal(health.status, 200);
  },
});

Deno.test("with CORS_ORIGINS and the in-flight cap full, a preflight still answers 204 and the 503 carries the CORS headers", async () => {
  await using t = await testContext({ now: NOW, env: { CORS_ORIGINS: ORIGIN } });
  const app = createApp(t.deps, { bodyTimeoutMs: 10_000, maxInFlight: 0 });
  await using http = serve(app);
  const preflight = await send(http.url, "OPTIONS", "/api/captures", {
    Origin: ORIGIN,
    "Access-Control-Request-Method": "POST",
    "X-Request-Id": "req-preflight-full",
  });
  assert.equal(preflight.status, 204);
  assert.deepEqual(lines(preflight, "access-control-allow-origin"), [ORIGIN]);
  assertRequestWide(preflight, "req-preflight-full", "preflight at the cap");
  const refused = await send(http.url, "GET", "/api/captures", {
    Origin: ORIGIN,
    Authorization: `Bearer ${await t.token("owner")}`,
    "X-Request-Id": "req-full",
  });
  assert.equal(refused.status, 503);
  assert.deepEqual(lines(refused, "retry-after"), ["1"]);
  assert.deepEqual(lines(refused, "access-control-allow-origin"), [ORIGIN]);
  assertRequestWide(refused, "req-full", "503 at the cap");
});
