import assert from "node:assert/strict";
import openapi from "../openapi/openapi.json" with { type: "json" };
import { CreateCapture, UpdateCapture } from "../openapi/schemas/capture.ts";
import { MemberParams, UpdateEnvironment } from "../openapi/schemas/environment.ts";
import { IdempotencyHeaders } from "../openapi/schemas/headers.ts";
import { SqlTextParams } from "../openapi/schemas/load.ts";
import { NOW } from "./helpers/captures.ts";
import { testContext } from "./helpers/context.ts";
import { assertProblem } from "./helpers/problem.ts";

type Json = Record<string, unknown>;
const ARN = "arn:aws:iam::123456789012:role/capwatch-read";

/** The server's own check of each value a pattern in the document describes. */
const SERVER: Record<string, (value: string) => boolean> = {
  dbInstanceIdentifier: (v) => UpdateEnvironment.safeParse({ dbInstanceIdentifier: v }).success,
  roleArn: (v) => UpdateEnvironment.safeParse({ roleArn: v }).success,
  externalId: (v) => UpdateEnvironment.safeParse({ roleArn: ARN, externalId: v }).success,
  accessKeyId: (v) =>
    UpdateEnvironment.safeParse({
      credentials: { accessKeyId: v, secretAccessKey: "s".repeat(16) },
    }).success,
  userId: (v) => MemberParams.shape.userId.safeParse(v).success,
  digestId: (v) => SqlTextParams.shape.digestId.safeParse(v).success,
  "Idempotency-Key": (v) => IdempotencyHeaders.shape["Idempotency-Key"].safeParse(v).success,
  name: (v) => {
    const create = CreateCapture.shape.name.safeParse(v).success;
    assert.equal(UpdateCapture.shape.name.safeParse(v).success, create, `update vs create ${v}`);
    const env = UpdateEnvironment.safeParse({ name: v }).success;
    assert.equal(env, create, `environment vs capture name ${JSON.stringify(v)}`);
    return create;
  },
};

/**
 * Patterns that say only part of the server's rule (display names: the rest needs \p{…}): every
 * value the server accepts matches, some it refuses may match too; the description says so.
 */
const PARTIAL = new Set(["name"]);

// Well-formed Unicode only: a lone surrogate cannot travel in a JSON Schema pattern's subject.
const SAMPLES = [
  "prod-mysql-1",
  ARN,
  "arn:aws-cn:iam::123456789012:role/team/x",
  "capwatch-7f3a",
  "AKIAIOSFODNN7EXAMPLE",
  "user-2",
  "k-1",
  "a",
  "A1",
  "a--b",
  "a-",
  "1abc",
  "x".repeat(64),
  "with space",
  "tab\there",
  "nul\0",
  "del\x7f",
  "next-line\u0085",
  "line\u2028separator",
  "paragraph\u2029separator",
  "\u2028",
  " peak ",
  "\tpeak\r\n",
  "\u2028peak\u2029",
  "\u3000\t\x85peak\xA0\u2029",
  "\t \t",
  "Café",
  "Cafe\u0301",
  "名前",
  "😀",
  "😀😀 rocket",
  "a\u200bb",
  "\uFFFF",
  "\u{10FFFF}",
  "",
];

/** Every `pattern` in the document with the name of what it constrains. */
function patterns(node: unknown, name = ""): Array<{ name: string; pattern: string }> {
  if (Array.isArray(node)) return node.flatMap((item) => patterns(item, name));
  if (node === null || typeof node !== "object") return [];
  const object = node as Json;
  const found = typeof object.pattern === "string" ? [{ name, pattern: object.pattern }] : [];
  for (const [key, value] of Object.entries(object)) {
    if (key === "properties") {
      for (const [property, schema] of Object.entries(value as Json)) {
        found.push(...patterns(schema, property));
      }
    } else if (key === "parameters" && Array.isArray(value)) {
      for (const parameter of value as Json[]) {
        found.push(...patterns(parameter.schema, String(parameter.name)));
      }
    } else if (key !== "pattern") found.push(...patterns(value, name));
  }
  return found;
}

Deno.test("each pattern in openapi.json compiles with and without u and agrees with the server", () => {
  const found = patterns(openapi);
  assert.ok(found.length >= 6, `only ${found.length} patterns found`);
  for (const { name, pattern } of found) {
    assert.doesNotMatch(pattern, /\\u[dD][89a-fA-F]/, `${name}: surrogate escape in ${pattern}`);
    assert.doesNotMatch(pattern, /\\[pP]\{/, `${name}: \\p{…} needs the u flag`);
    const plain = new RegExp(pattern);
    const unicode = new RegExp(pattern, "u");
    const server = SERVER[name];
    assert.ok(server, `no server check known for the pattern of ${name}`);
    for (const sample of SAMPLES) {
      const where = `${name} ${pattern} on ${JSON.stringify(sample)}`;
      assert.equal(plain.test(sample), unicode.test(sample), `u flag changes ${where}`);
      if (PARTIAL.has(name)) {
        if (server(sample)) assert.ok(plain.test(sample), `server accepts, pattern not: ${where}`);
      } else assert.equal(plain.test(sample), server(sample), `server disagrees: ${where}`);
    }
  }
  // Display names carry their partial pattern, which still refuses what it can say.
  const schemas = openapi.components.schemas as unknown as Record<string, { properties: Json }>;
  for (
    const schema of ["CreateCapture", "UpdateCapture", "CreateEnvironment", "UpdateEnvironment"]
  ) {
    const name = schemas[schema].properties.name as Json;
    assert.equal(typeof name.pattern, "string", `${schema}.name has no pattern`);
    assert.match(String(name.description), /pattern is partial/, `${schema}.name`);
    const pattern = new RegExp(String(name.pattern));
    for (const refused of ["a\tb", "nul\0", "del\x7f", "a\u2028b", "c1\x9Fx", "\x1Fpeak"]) {
      assert.doesNotMatch(refused, pattern, `${schema}.name on ${JSON.stringify(refused)}`);
    }
  }
});

Deno.test("every response declares X-Request-Id and every parameter is described, without a prefill", () => {
  for (const [path, item] of Object.entries(openapi.paths as Record<string, Json>)) {
    for (const [method, operation] of Object.entries(item as Record<string, Json>)) {
      const responses = operation.responses as Record<string, { headers?: Json }>;
      for (const [status, response] of Object.entries(responses)) {
        assert.ok(response.headers?.["X-Request-Id"], `${method} ${path} ${status}`);
      }
      for (const parameter of (operation.parameters ?? []) as Json[]) {
        const where = `${method} ${path} ${parameter.in} ${parameter.name}`;
        const schema = parameter.schema as Json;
        assert.ok(parameter.description ?? schema.description, `${where} has no description`);
        // Swagger UI fills a parameter from its example: it would act on data nobody picked.
        assert.equal(parameter.example ?? schema.example, undefined, `${where} has an example`);
        // A declared default is prefilled too; the server applies its own instead.
        assert.equal(schema.default, undefined, `${where} has a default`);
      }
    }
  }
  const servers = openapi.servers as Array<{ url: string }>;
  assert.ok(servers.some((s) => /^\{scheme\}:\/\//.test(s.url)), "an absolute server entry");
});

Deno.test("a time without an offset is answered with how to add one", async () => {
  await using t = await testContext({ now: NOW });
  const env = await t.createEnvironment("alice");
  const problem = await assertProblem(
    await t.as("alice").post("/api/captures", {
      name: "peak",
      envId: env.id,
      scheduledStart: "2027-01-01T00:00:00",
    }),
    400,
  );
  const error = problem.errors?.find((e) => e.path === "scheduledStart");
  assert.ok(error, JSON.stringify(problem));
  assert.match(error.message, /add Z or an offset like \+02:00/);
  const garbled = await assertProblem(
    await t.as("alice").post("/api/captures", { name: "p", envId: env.id, start: "yesterday" }),
    400,
  );
  assert.match(garbled.errors![0].message, /ISO-8601 date-time with Z or an offset/);
});
