import assert from "node:assert/strict";
import { type TestContext, testContext } from "./helpers/context.ts";

const NOW = "2026-01-01T00:00:00Z";

/**
 * Requests as the old MyCRT client makes them (mycrt-client's makeRequest): `/api` prefixed,
 * query values appended as strings, JSON content type on every request even without a body,
 * and the body JSON.stringify'd. Only the bearer token is new.
 */
function mycrtClient(t: TestContext, user: string) {
  return async (
    method: "GET" | "POST" | "PUT" | "DELETE",
    url: string,
    params?: Record<string, unknown> | null,
    body?: unknown,
  ) => {
    const fullUrl = new URL(`http://localhost/api${url}`);
    if (params instanceof Object) {
      for (const key of Object.keys(params)) fullUrl.searchParams.append(key, String(params[key]));
    }
    const res = await t.app.request(fullUrl.toString(), {
      method,
      body: JSON.stringify(body) || undefined,
      headers: {
        Accept: "application/json",
        "Content-Type": "application/json",
        Authorization: `Bearer ${await t.token(user)}`,
      },
    });
    return { status: res.status, ok: res.ok, json: await res.json() };
  };
}

Deno.test("GET /api/captures?envId=&name= answers the old client's name lookup", async () => {
  await using t = await testContext({ now: NOW });
  const env = await t.createEnvironment("owner");
  const other = await t.createEnvironment("owner");
  const call = mycrtClient(t, "owner");
  const made = await call("POST", "/captures", null, { name: "peak", envId: env.id });
  await call("POST", "/captures", null, { name: "peak", envId: other.id });
  await call("POST", "/captures", null, { name: "peak-2", envId: env.id });

  const found = await call("GET", "/captures", { envId: env.id, name: "peak" });
  assert.equal(found.status, 200);
  assert.deepEqual(found.json.map((c: { id: number }) => c.id), [made.json.id]);
  const free = await call("GET", "/captures", { envId: env.id, name: "valley" });
  assert.equal(free.status, 200);
  assert.deepEqual(free.json, []);
  const all = await call("GET", "/captures", { envId: env.id });
  assert.equal(all.json.length, 2);
});

Deno.test("POST /api/captures accepts the old client's status STARTED body", async () => {
  await using t = await testContext({ now: NOW });
  const env = await t.createEnvironment("owner");
  const call = mycrtClient(t, "owner");
  const started = await call("POST", "/captures", null, {
    name: "legacy",
    envId: env.id,
    status: "STARTED",
  });
  assert.ok(started.ok, JSON.stringify(started.json));
  assert.equal(started.json.name, "legacy");
  assert.equal(started.json.envId, env.id);
  assert.equal(started.json.status, "RUNNING");
  assert.equal(typeof started.json.id, "number");

  // The old GUI's "automatic stop" and "specific time" forms.
  const timed = await call("POST", "/captures", null, {
    name: "legacy-timed",
    envId: env.id,
    duration: 300,
  });
  assert.ok(timed.ok, JSON.stringify(timed.json));
  assert.equal(timed.json.scheduledEnd, "2026-01-01T00:05:00.000Z");
  const scheduled = await call("POST", "/captures", null, {
    name: "legacy-scheduled",
    envId: env.id,
    status: "SCHEDULED",
    scheduledStart: new Date("2026-01-02T09:00:00Z"),
    duration: 3600,
  });
  assert.ok(scheduled.ok, JSON.stringify(scheduled.json));
  assert.equal(scheduled.json.status, "SCHEDULED");
  assert.equal(scheduled.json.scheduledStart, "2026-01-02T09:00:00.000Z");
});

Deno.test("POST /api/captures/{id}/stop stops a capture for the old client, JSON header and all", async () => {
  await using t = await testContext({ now: NOW });
  const env = await t.createEnvironment("owner");
  const call = mycrtClient(t, "owner");
  const { json: capture } = await call("POST", "/captures", null, {
    name: "legacy",
    envId: env.id,
    status: "STARTED",
  });
  t.clock.advance(90_000);
  const stopped = await call("POST", `/captures/${capture.id}/stop`);
  assert.ok(stopped.ok, JSON.stringify(stopped.json));
  assert.equal(stopped.json.status, "DONE");
  assert.equal(stopped.json.end, "2026-01-01T00:01:30.000Z");
  const again = await call("POST", `/captures/${capture.id}/stop`);
  assert.equal(again.status, 409, "the old API's answer for an already stopped capture");
});

Deno.test("PUT /api/captures/{id} renames a capture for the old client", async () => {
  await using t = await testContext({ now: NOW });
  const env = await t.createEnvironment("owner");
  const call = mycrtClient(t, "owner");
  const { json: capture } = await call("POST", "/captures", null, {
    name: "legacy",
    envId: env.id,
    status: "STARTED",
  });
  const renamed = await call("PUT", `/captures/${capture.id}`, null, { name: "legacy-renamed" });
  assert.ok(renamed.ok, JSON.stringify(renamed.json));
  assert.equal(renamed.json.name, "legacy-renamed");
  const fetched = await call("GET", `/captures/${capture.id}`);
  assert.equal(fetched.json.name, "legacy-renamed");
  const looked = await call("GET", "/captures", { envId: env.id, name: "legacy-renamed" });
  assert.deepEqual(looked.json.map((c: { id: number }) => c.id), [capture.id]);
});

Deno.test("GET /api/captures/?envId=&name= with the old client's trailing slash answers 200", async () => {
  await using t = await testContext({ now: NOW });
  const env = await t.createEnvironment("owner");
  const call = mycrtClient(t, "owner");
  await call("POST", "/captures", null, { name: "peak", envId: env.id });
  const found = await call("GET", "/captures/", { envId: env.id, name: "peak" });
  assert.equal(found.status, 200);
  assert.deepEqual(found.json.map((c: { name: string }) => c.name), ["peak"]);
});
