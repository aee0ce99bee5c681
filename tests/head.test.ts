// HEAD over a real listener answers every GET route's status and headers, Content-Length included
// (Hono answers HEAD by running the GET and dropping its body; Deno then wrote Content-Length: 0).
import assert from "node:assert/strict";
import { testContext } from "./helpers/context.ts";

// Headers that legitimately differ between two answers.
const PER_ANSWER = new Set(["date", "x-request-id"]);

function comparable(headers: Headers) {
  return Object.fromEntries([...headers].filter(([name]) => !PER_ANSWER.has(name)));
}

Deno.test("HEAD answers each GET route's status and headers, with the GET's Content-Length", async () => {
  await using t = await testContext();
  await using server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    t.app.fetch,
  );
  const origin = `http://127.0.0.1:${server.addr.port}`;
  const env = await t.createEnvironment("alice");
  const created = await t.as("alice").post("/api/captures", {
    name: "head-check",
    envId: env.id,
    duration: 3600,
  });
  const capture = await created.json();
  const authorization = `Bearer ${await t.token("alice")}`;

  const paths = [
    "/health",
    "/openapi.json",
    "/docs",
    "/docs/assets/swagger-ui-dist/swagger-ui.css",
    "/api/environments",
    `/api/environments/${env.id}`,
    `/api/environments/${env.id}/members`,
    "/api/captures",
    `/api/captures/${capture.id}`,
    "/api/captures/999999", // a 404 problem
    "/api/captures?limit=0", // a 400 problem
    "/no/such/route", // the app's own 404, which names the method
  ];
  for (const path of paths) {
    const headers = { Authorization: authorization };
    const get = await fetch(`${origin}${path}`, { headers });
    const body = new Uint8Array(await get.arrayBuffer());
    const head = await fetch(`${origin}${path}`, { method: "HEAD", headers });
    assert.equal(await head.text(), "", path);
    assert.equal(head.status, get.status, path);
    assert.ok(body.length > 0, `${path}: the GET has a body`);
    assert.equal(head.headers.get("content-length"), String(body.length), path);
    assert.deepEqual(comparable(head.headers), comparable(get.headers), path);
    assert.equal(get.headers.get("x-content-type-options"), "nosniff", path);
  }
});
