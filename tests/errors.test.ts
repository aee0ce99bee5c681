import assert from "node:assert/strict";
import { MAX_BODY_BYTES } from "../app.ts";
import { type TestContext, testContext } from "./helpers/context.ts";
import { assertProblem } from "./helpers/problem.ts";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Asserts the full RFC 9457 shape capwatch promises, on top of assertProblem. */
async function assertFullProblem(res: Response, status: number, path: string) {
  const requestId = res.headers.get("x-request-id");
  const body = await assertProblem(res, status) as Awaited<ReturnType<typeof assertProblem>> & {
    instance?: string;
    requestId?: string;
  };
  assert.match(body.type, /^\/problems\/[a-z-]+$/);
  assert.ok(body.title.length > 0);
  assert.ok(body.detail.length > 0);
  assert.equal(body.instance, path);
  assert.ok(requestId, "no X-Request-Id header");
  assert.equal(body.requestId, requestId);
  return body;
}

/** Sends `body` as-is with a bearer token for `user`. */
async function raw(
  t: TestContext,
  method: string,
  path: string,
  body: BodyInit | null,
  headers: Record<string, string> = {},
) {
  return t.app.request(path, {
    method,
    body,
    headers: { Authorization: `Bearer ${await t.token("alice")}`, ...headers },
  });
}

Deno.test("POST /api/environments answers 400 naming every offending field", async () => {
  await using t = await testContext();
  const res = await t.as("alice").post("/api/environments", {
    name: "",
    region: "mars-north-1a",
    dbInstanceIdentifier: "1-starts-with-a-digit",
  });
  const problem = await assertFullProblem(res, 400, "/api/environments");
  const paths = problem.errors?.map((e) => e.path) ?? [];
  assert.deepEqual([...new Set(paths)].sort(), ["dbInstanceIdentifier", "name", "region"]);
  assert.ok(problem.errors?.every((e) => e.message.length > 0));
  for (const field of ["name", "region", "dbInstanceIdentifier"]) {
    assert.match(problem.detail, new RegExp(field));
  }
});

Deno.test("POST /api/environments answers 400 naming missing fields and nested ones", async () => {
  await using t = await testContext();
  const res = await t.as("alice").post("/api/environments", {
    region: "us-east-1",
    credentials: { accessKeyId: "AKIAIOSFODNN7EXAMPLE" },
  });
  const problem = await assertFullProblem(res, 400, "/api/environments");
  const paths = (problem.errors?.map((e) => e.path) ?? []).sort();
  assert.deepEqual(paths, ["credentials.secretAccessKey", "dbInstanceIdentifier", "name"]);
});

Deno.test("POST /api/environments answers 400 naming each unknown field", async () => {
  await using t = await testContext();
  const res = await t.as("alice").post("/api/environments", {
    name: "production",
    region: "us-east-1",
    dbInstanceIdentifier: "prod-mysql-1",
    ownerId: "mallory",
    credentials: {
      accessKeyId: "AKIAIOSFODNN7EXAMPLE",
      secretAccessKey: "a-secret-access-key-long-enough",
      region: "us-east-1",
    },
  });
  const problem = await assertFullProblem(res, 400, "/api/environments");
  assert.deepEqual(problem.errors?.map((e) => e.path).sort(), ["credentials.region", "ownerId"]);
  assert.match(problem.detail, /ownerId/);
  assert.deepEqual(await (await t.as("alice").get("/api/environments")).json(), []);
});

Deno.test("PATCH /api/environments/{id} answers 400 for an empty change", async () => {
  await using t = await testContext();
  const env = await t.createEnvironment("alice");
  const path = `/api/environments/${env.id}`;
  const problem = await assertFullProblem(await t.as("alice").patch(path, {}), 400, path);
  assert.equal(problem.errors?.length, 1);
  assert.match(problem.errors![0].message, /at least one/);
});

Deno.test("GET /api/environments/{id} answers 400 naming id when it is not a positive integer", async () => {
  await using t = await testContext();
  for (const id of ["abc", "0", "-1", "1.5"]) {
    const path = `/api/environments/${id}`;
    const problem = await assertFullProblem(await t.as("alice").get(path), 400, path);
    assert.deepEqual(problem.errors?.map((e) => e.path), ["id"]);
  }
});

Deno.test("POST /api/environments answers 400 for malformed JSON", async () => {
  await using t = await testContext();
  const res = await raw(t, "POST", "/api/environments", '{"name": "production",', {
    "Content-Type": "application/json",
  });
  const problem = await assertFullProblem(res, 400, "/api/environments");
  assert.match(problem.detail, /not valid JSON/);
});

Deno.test("POST /api/environments answers 415 for a body that is not JSON", async () => {
  await using t = await testContext();
  const form = "name=production&region=us-east-1&dbInstanceIdentifier=db-1";
  for (const type of ["application/x-www-form-urlencoded", "text/plain"]) {
    const res = await raw(t, "POST", "/api/environments", form, { "Content-Type": type });
    const problem = await assertFullProblem(res, 415, "/api/environments");
    assert.match(problem.detail, /application\/json/);
  }
  // No body at all is still validated (the body is required), so the fields are named.
  const empty = await raw(t, "POST", "/api/environments", null);
  const problem = await assertFullProblem(empty, 400, "/api/environments");
  assert.deepEqual(problem.errors?.map((e) => e.path), ["name", "region", "dbInstanceIdentifier"]);
  assert.deepEqual(await (await t.as("alice").get("/api/environments")).json(), []);
});

Deno.test("GET /api/unknown answers 404 problem+json", async () => {
  await using t = await testContext();
  for (const path of ["/api/unknown", "/nothing-here", "/api/environments/1/unknown"]) {
    const problem = await assertFullProblem(await t.as("alice").get(path), 404, path);
    assert.match(problem.detail, new RegExp(path.replaceAll("/", "\\/")));
  }
});

Deno.test("DELETE /api/environments answers 405 with Allow", async () => {
  await using t = await testContext();
  const res = await t.as("alice").delete("/api/environments");
  const allow = res.headers.get("allow");
  const problem = await assertFullProblem(res, 405, "/api/environments");
  assert.equal(allow, "GET, HEAD, POST");
  assert.match(problem.detail, /GET, HEAD, POST/);

  const env = await t.createEnvironment("alice");
  const put = await t.as("alice").put(`/api/environments/${env.id}`, { name: "x" });
  assert.equal(put.headers.get("allow"), "DELETE, GET, HEAD, PATCH");
  await assertFullProblem(put, 405, `/api/environments/${env.id}`);

  const health = await t.as(null).post("/health");
  assert.equal(health.headers.get("allow"), "GET, HEAD");
  await assertFullProblem(health, 405, "/health");
});

Deno.test("POST /api/environments answers 409 problem+json for a taken name", async () => {
  await using t = await testContext();
  await t.createEnvironment("alice", { name: "production" });
  const res = await t.as("alice").post("/api/environments", {
    name: "production",
    region: "us-east-1",
    dbInstanceIdentifier: "prod-mysql-1",
  });
  const problem = await assertFullProblem(res, 409, "/api/environments");
  assert.equal(problem.type, "/problems/name-taken");
  assert.equal(problem.title, "Name taken");
});

Deno.test("POST /api/environments answers 413 for a body over MAX_BODY_BYTES", async () => {
  await using t = await testContext();
  const body = JSON.stringify({
    name: "big",
    region: "us-east-1",
    dbInstanceIdentifier: "db-1",
    padding: "x".repeat(MAX_BODY_BYTES),
  });
  const declared = await raw(t, "POST", "/api/environments", body, {
    "Content-Type": "application/json",
    "Content-Length": String(new TextEncoder().encode(body).byteLength),
  });
  await assertFullProblem(declared, 413, "/api/environments");

  // The same size streamed without a Content-Length is cut off too.
  const streamed = await raw(
    t,
    "POST",
    "/api/environments",
    new Blob([body]).stream(),
    { "Content-Type": "application/json" },
  );
  await assertFullProblem(streamed, 413, "/api/environments");
  assert.deepEqual(await (await t.as("alice").get("/api/environments")).json(), []);
});

Deno.test("POST /api/environments accepts a body just under MAX_BODY_BYTES up to validation", async () => {
  await using t = await testContext();
  const body = JSON.stringify({ name: "x".repeat(MAX_BODY_BYTES - 100) });
  const res = await raw(t, "POST", "/api/environments", body, {
    "Content-Type": "application/json",
  });
  // Past the size limit, it fails on its fields instead.
  await assertFullProblem(res, 400, "/api/environments");
});

Deno.test("GET /api/environments answers 401 problem+json without a token", async () => {
  await using t = await testContext();
  const res = await t.as(null).get("/api/environments");
  assert.match(res.headers.get("www-authenticate") ?? "", /^Bearer/);
  const problem = await assertFullProblem(res, 401, "/api/environments");
  assert.equal(problem.title, "Authentication required");
});

Deno.test("POST /api/environments answers 401, not 400, to an anonymous invalid body", async () => {
  await using t = await testContext();
  const res = await t.as(null).post("/api/environments", { name: "" });
  await assertFullProblem(res, 401, "/api/environments");
});

Deno.test("PATCH /api/environments/{id} answers 403 problem+json to a plain member", async () => {
  await using t = await testContext();
  const env = await t.createEnvironment("alice");
  await t.addMember(env.id, "bob", "member", "alice");
  const path = `/api/environments/${env.id}`;
  const problem = await assertFullProblem(await t.as("bob").patch(path, { name: "x" }), 403, path);
  assert.equal(problem.title, "Forbidden");
});

Deno.test("GET /api/environments answers a bare 500 that leaks nothing when the database fails", async () => {
  await using t = await testContext();
  await t.createEnvironment("alice");
  t.client.close();
  const res = await t.as("alice").get("/api/environments");
  const text = await res.clone().text();
  const problem = await assertFullProblem(res, 500, "/api/environments");
  assert.equal(
    problem.detail,
    "Something went wrong on our side; quote the requestId when reporting",
  );
  assert.equal(problem.errors, undefined);
  for (const leak of [/select/i, /sqlite/i, /memberships/, /\bat /, /\.ts/, /Error/, /closed/i]) {
    assert.doesNotMatch(text, leak);
  }

  const requestId = res.headers.get("x-request-id");
  const errors = t.logLines.map((line) => JSON.parse(line)).filter((l) => l.level === "error");
  assert.equal(errors.length, 1, t.logLines.join("\n"));
  assert.equal(errors[0].requestId, requestId);
  assert.equal(errors[0].path, "/api/environments");
  assert.match(errors[0].error, /\n\s+at /, "the log line carries the stack");
  const requestLine = t.logLines.map((line) => JSON.parse(line)).find((l) =>
    l.msg === "request" && l.requestId === requestId
  );
  assert.equal(requestLine?.status, 500);
});

Deno.test("GET /api/environments echoes a valid client X-Request-Id", async () => {
  await using t = await testContext();
  for (const id of ["req-123", "trace:abc.DEF_9", "a".repeat(128)]) {
    const res = await t.as("alice").get("/api/environments", { "X-Request-Id": id });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("x-request-id"), id);
    await res.body?.cancel();
  }
  const problem = await t.as(null).get("/api/environments", { "X-Request-Id": "req-401" });
  assert.equal(problem.headers.get("x-request-id"), "req-401");
  assert.equal((await problem.json()).requestId, "req-401");
  const logged = t.logLines.map((line) => JSON.parse(line)).filter((l) => l.msg === "request");
  assert.deepEqual(logged.map((l) => l.requestId), [
    "req-123",
    "trace:abc.DEF_9",
    "a".repeat(128),
    "req-401",
  ]);
});

Deno.test("GET /api/environments replaces an invalid client X-Request-Id with its own", async () => {
  await using t = await testContext();
  const invalid = ["has spaces", "a".repeat(129), "<script>", "line\tbreak", "ünïcode"];
  const seen = new Set<string>();
  for (const id of invalid) {
    const res = await t.as(null).get("/api/environments", { "X-Request-Id": id });
    const requestId = res.headers.get("x-request-id") ?? "";
    assert.match(requestId, UUID, `${JSON.stringify(id)} became ${requestId}`);
    assert.equal((await res.json()).requestId, requestId);
    seen.add(requestId);
  }
  assert.equal(seen.size, invalid.length, "request ids are not fresh");
  for (const line of t.logLines) {
    for (const id of invalid) assert.ok(!line.includes(id), line);
  }
});

Deno.test("GET /health gets a fresh X-Request-Id without one from the client", async () => {
  await using t = await testContext();
  const first = await t.as(null).get("/health");
  const second = await t.as(null).get("/health");
  assert.match(first.headers.get("x-request-id") ?? "", UUID);
  assert.match(second.headers.get("x-request-id") ?? "", UUID);
  assert.notEqual(first.headers.get("x-request-id"), second.headers.get("x-request-id"));
  await first.body?.cancel();
  await second.body?.cancel();
});
