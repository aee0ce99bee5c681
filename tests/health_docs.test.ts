import assert from "node:assert/strict";
import { is } from "drizzle-orm";
import { getTableConfig, SQLiteTable } from "drizzle-orm/sqlite-core";
import { openDatabase } from "../db/client.ts";
import { migrateDatabase } from "../db/migrate.ts";
import * as schema from "../db/schema.ts";
import { testContext } from "./helpers/context.ts";

const schemaTables = Object.values(schema as Record<string, unknown>)
  .filter((value): value is SQLiteTable => is(value, SQLiteTable))
  .map((table) => getTableConfig(table));

/** A brand-new database file (no tables at all), removed when disposed. */
async function emptyDatabase() {
  const path = await Deno.makeTempFile({ prefix: "capwatch-migrate-", suffix: ".db" });
  const handle = await openDatabase(`file:${path}`);
  return {
    ...handle,
    async [Symbol.asyncDispose]() {
      handle.close();
      for (const suffix of ["", "-wal", "-shm"]) await Deno.remove(path + suffix).catch(() => {});
    },
  };
}

async function namesOf(
  client: { execute(sql: string): Promise<{ rows: unknown[] }> },
  type: string,
) {
  const result = await client.execute(
    `SELECT name FROM sqlite_master WHERE type = '${type}' AND name NOT LIKE 'sqlite_%' ORDER BY name`,
  );
  return result.rows.map((row) => (row as { name: string }).name);
}

Deno.test("migrateDatabase() creates every schema table, column and index in an empty database", async () => {
  await using db = await emptyDatabase();
  assert.deepEqual(await namesOf(db.client, "table"), []);
  await migrateDatabase(db.db);

  const tables = await namesOf(db.client, "table");
  assert.ok(schemaTables.length >= 4, "the schema exports its tables");
  for (const table of schemaTables) {
    assert.ok(tables.includes(table.name), `table ${table.name} is missing`);
    const info = await db.client.execute(`PRAGMA table_info(${table.name})`);
    const columns = info.rows.map((row) => String(row.name)).sort();
    assert.deepEqual(columns, table.columns.map((c) => c.name).sort(), `columns of ${table.name}`);
  }
  assert.ok(tables.includes("__drizzle_migrations"));

  const indexes = await namesOf(db.client, "index");
  for (const table of schemaTables) {
    for (const index of table.indexes) {
      assert.ok(indexes.includes(index.config.name), `index ${index.config.name} is missing`);
    }
  }
});

Deno.test("migrateDatabase() applies nothing twice", async () => {
  await using db = await emptyDatabase();
  await migrateDatabase(db.db);
  const first = await db.client.execute("SELECT count(*) AS n FROM __drizzle_migrations");
  assert.ok(Number(first.rows[0].n) >= 1);
  await migrateDatabase(db.db);
  const second = await db.client.execute("SELECT count(*) AS n FROM __drizzle_migrations");
  assert.equal(Number(second.rows[0].n), Number(first.rows[0].n));
});

Deno.test("migrateDatabase() keeps its tables in a :memory: database", async () => {
  const db = await openDatabase(":memory:");
  try {
    await migrateDatabase(db.db);
    const tables = await namesOf(db.client, "table");
    for (const table of schemaTables) assert.ok(tables.includes(table.name), table.name);
  } finally {
    db.close();
  }
});

Deno.test("GET /health answers 200 with the schema version, without a token", async () => {
  await using t = await testContext();
  const res = await t.as(null).get("/health");
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
  const body = await res.json();
  assert.equal(body.status, "ok");
  assert.equal(body.database, "ok");
  assert.ok(Number.isInteger(body.schemaVersion) && body.schemaVersion >= 1, body.schemaVersion);
  const applied = await t.client.execute("SELECT count(*) AS n FROM __drizzle_migrations");
  assert.equal(body.schemaVersion, Number(applied.rows[0].n));
});

Deno.test("GET /health answers 503 when the database does not answer", async () => {
  await using t = await testContext();
  t.client.close();
  const res = await t.as(null).get("/health");
  assert.equal(res.status, 503);
  assert.deepEqual(await res.json(), {
    status: "unavailable",
    database: "unreachable",
    schemaVersion: null,
  });
  const warning = t.logLines.map((line) => JSON.parse(line)).find((l) => l.level === "warn");
  assert.equal(warning?.msg, "health check failed");
  assert.equal(warning?.requestId, res.headers.get("x-request-id"));
});

type Operation = { security?: unknown; responses?: Record<string, unknown>; operationId?: string };

Deno.test("GET /openapi.json is an OpenAPI 3.1 document requiring bearerAuth on every /api operation", async () => {
  await using t = await testContext();
  const res = await t.as(null).get("/openapi.json");
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
  const doc = await res.json();
  assert.match(doc.openapi, /^3\.1\./);
  assert.equal(doc.info.title, "capwatch");
  assert.deepEqual(
    {
      type: doc.components.securitySchemes.bearerAuth.type,
      scheme: doc.components.securitySchemes.bearerAuth.scheme,
    },
    { type: "http", scheme: "bearer" },
  );
  assert.deepEqual(doc.paths["/health"].get.security, []);

  const apiPaths = Object.keys(doc.paths).filter((path) => path.startsWith("/api/"));
  for (
    const path of [
      "/api/environments",
      "/api/environments/{id}",
      "/api/environments/{id}/members",
      "/api/environments/{id}/members/{userId}",
    ]
  ) {
    assert.ok(apiPaths.includes(path), `${path} is not documented`);
  }
  const operationIds = new Set<string>();
  for (const path of apiPaths) {
    for (
      const [method, operation] of Object.entries(doc.paths[path] as Record<string, Operation>)
    ) {
      if (method === "parameters") continue;
      const name = `${method.toUpperCase()} ${path}`;
      assert.deepEqual(operation.security, [{ bearerAuth: [] }], `${name} security`);
      assert.ok(operation.responses?.["401"], `${name} does not declare 401`);
      assert.ok(operation.operationId, `${name} has no operationId`);
      assert.ok(!operationIds.has(operation.operationId!), `${name} repeats an operationId`);
      operationIds.add(operation.operationId!);
    }
  }
});

Deno.test("GET /docs serves Swagger UI from local assets only", async () => {
  await using t = await testContext();
  const res = await t.as(null).get("/docs");
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /^text\/html/);
  const html = await res.text();
  assert.match(html, /\/openapi\.json/);

  const scripts = [...html.matchAll(/<script[^>]*\ssrc="([^"]+)"/g)].map((m) => m[1]);
  const styles = [...html.matchAll(/<link[^>]*\shref="([^"]+)"/g)].map((m) => m[1]);
  assert.equal(scripts.length, 1, html);
  assert.equal(styles.length, 1, html);
  assert.doesNotMatch(html, /(src|href)="(https?:)?\/\//);

  const expected = [[scripts[0], /^text\/javascript/], [styles[0], /^text\/css/]] as const;
  for (const [url, type] of expected) {
    assert.match(url, /^\/[^/]/, `${url} is not a local path`);
    const asset = await t.as(null).get(url);
    assert.equal(asset.status, 200, url);
    assert.match(asset.headers.get("content-type") ?? "", type);
    assert.ok((await asset.arrayBuffer()).byteLength > 1000, `${url} is nearly empty`);
  }
});

Deno.test("GET /docs/assets/swagger-ui-dist/{file} answers 404 for anything but the two assets", async () => {
  await using t = await testContext();
  for (const file of ["package.json", "index.html", "..%2F..%2Fdeno.json"]) {
    const res = await t.as(null).get(`/docs/assets/swagger-ui-dist/${file}`);
    assert.equal(res.status, 404, file);
    assert.match(res.headers.get("content-type") ?? "", /^application\/problem\+json/);
    await res.body?.cancel();
  }
});
