// The contract's own quality rules, beyond what Redocly and Spectral check: names, prose, examples,
// and the problem responses each kind of operation can give.
import assert from "node:assert/strict";
import { testContext } from "./helpers/context.ts";

// deno-lint-ignore no-explicit-any -- the document is walked as plain JSON
type Json = any;

const OPERATION_IDS = [
  "compareCaptures",
  "createCapture",
  "createEnvironment",
  "deleteCapture",
  "deleteEnvironment",
  "deleteMember",
  "getCapture",
  "getCaptureLoad",
  "getCaptureMetrics",
  "getCaptureMetricsChart",
  "getCaptureSqlText",
  "getComparisonChart",
  "getEnvironment",
  "getHealth",
  "getProblemType",
  "listCaptures",
  "listEnvironments",
  "listMembers",
  "patchCapture",
  "putMember",
  "stopCapture",
  "updateCapture",
  "updateEnvironment",
];
const METHODS = ["get", "put", "post", "delete", "patch"];
const PROBLEM_REF = "#/components/schemas/Problem";

async function servedDocument(): Promise<Json> {
  await using t = await testContext();
  const res = await t.app.request("/openapi.json");
  assert.equal(res.status, 200);
  return await res.json();
}

function operations(document: Json) {
  return Object.entries(document.paths as Record<string, Json>).flatMap(([path, item]) =>
    METHODS.filter((method) => item[method]).map((method) => ({
      where: `${method.toUpperCase()} ${path}`,
      path,
      op: item[method],
    }))
  );
}

/** The component a `$ref` (or an array of them) names; fails for inline schemas. */
function component(document: Json, schema: Json, where: string) {
  const ref = schema.$ref ?? (schema.type === "array" ? schema.items?.$ref : undefined);
  assert.ok(ref, `${where}: the schema is not a named component`);
  const name = ref.replace("#/components/schemas/", "");
  const found = document.components.schemas[name];
  assert.ok(found, `${where}: no component ${name}`);
  return { name, schema: found };
}

/** True when Swagger UI can show an example: one on the schema, or one on every property. */
function hasExample(schema: Json): boolean {
  if (schema.example !== undefined || schema.examples !== undefined) return true;
  return Object.values(schema.properties ?? {}).every((p: Json) =>
    p.example !== undefined || p.examples !== undefined || p.$ref !== undefined ||
    p.enum !== undefined
  );
}

Deno.test("GET /openapi.json names every operation with a camelCase operationId, summary, description and one known tag", async () => {
  const document = await servedDocument();
  const ops = operations(document);
  assert.deepEqual(ops.map(({ op }) => op.operationId).sort(), OPERATION_IDS);
  const tags = new Set(document.tags.map((t: Json) => t.name));
  for (const { where, op } of ops) {
    assert.match(op.operationId, /^[a-z]+[A-Z][A-Za-z]*$/, where);
    assert.ok(op.summary?.trim(), `${where}: no summary`);
    assert.ok(op.description?.trim(), `${where}: no description`);
    assert.equal(op.tags?.length, 1, `${where}: one tag`);
    assert.ok(tags.has(op.tags[0]), `${where}: tag ${op.tags[0]} is not declared`);
    assert.ok(Array.isArray(op.security), `${where}: security is not declared`);
  }
});

Deno.test("GET /openapi.json declares every error as application/problem+json with the Problem schema", async () => {
  const document = await servedDocument();
  for (const { where, op } of operations(document)) {
    // /health answers its own Health body with 503, so load balancers read one shape.
    if (op.operationId === "getHealth") continue;
    const errors = Object.keys(op.responses).filter((status) => Number(status) >= 400);
    assert.ok(errors.length > 0, `${where}: no error responses`);
    for (const status of errors) {
      const response = op.responses[status];
      assert.ok(response.description, `${where} ${status}: no description`);
      assert.deepEqual(Object.keys(response.content), ["application/problem+json"], where);
      assert.equal(response.content["application/problem+json"].schema.$ref, PROBLEM_REF, where);
    }
  }
});

Deno.test("GET /openapi.json declares the problems each kind of operation can give", async () => {
  const document = await servedDocument();
  for (const { where, path, op } of operations(document)) {
    const declared = new Set(Object.keys(op.responses).map(Number));
    const expect = (statuses: number[], why: string) => {
      for (const status of statuses) {
        assert.ok(declared.has(status), `${where}: ${status} (${why})`);
      }
    };
    if (op.security.length > 0) {
      expect([401], "bearer token");
      assert.ok(op.responses[401].headers?.["WWW-Authenticate"], `${where}: WWW-Authenticate`);
    }
    if (op.requestBody) expect([400, 413, 415], "JSON body");
    if (path.includes("{")) expect([400, 404], "path parameters");
    if (declared.has(503) && op.operationId !== "getHealth") {
      assert.ok(op.responses[503].headers?.["Retry-After"], `${where}: Retry-After`);
    }
  }
  const metrics = document.paths["/api/captures/{id}/metrics"].get.responses;
  for (const status of [409, 502, 503, 504]) assert.ok(metrics[status], `metrics ${status}`);
  for (
    const [path, method] of [["/api/captures/{id}", "put"], ["/api/captures/{id}/stop", "post"]]
  ) {
    assert.ok(document.paths[path][method].responses[403], `${method} ${path} 403`);
  }
});

Deno.test("GET /openapi.json gives every JSON body and answer a named schema with an example", async () => {
  const document = await servedDocument();
  for (const { where, op } of operations(document)) {
    const bodies: [string, Json][] = [];
    if (op.requestBody) {
      assert.equal(op.requestBody.required, true, `${where}: body not required`);
      bodies.push([`${where} request`, op.requestBody.content["application/json"].schema]);
    }
    for (const [status, response] of Object.entries(op.responses as Record<string, Json>)) {
      const schema = response.content?.["application/json"]?.schema;
      if (schema) bodies.push([`${where} ${status}`, schema]);
    }
    for (const [at, schema] of bodies) {
      const { name, schema: named } = component(document, schema, at);
      assert.ok(hasExample(named), `${at}: ${name} has no example`);
    }
  }
  assert.ok(hasExample(document.components.schemas.Problem), "Problem has no example");
});
