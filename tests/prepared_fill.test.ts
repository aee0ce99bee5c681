import assert from "node:assert/strict";
import { eq, fillPlaceholders, sql } from "drizzle-orm";
import { QueryBuilder } from "drizzle-orm/sqlite-core";
import { compileFill } from "../db/prepared.ts";
import { environments } from "../db/schema.ts";

// A query with every kind of param drizzle leaves in toSQL(): a bare placeholder, a placeholder a
// column encodes (as insertSelection binds one; a boolean column binds true as 1), and a literal value.
const query = new QueryBuilder().select({ id: environments.id }).from(environments).where(
  sql`${eq(environments.id, sql.placeholder("id"))} and ${
    sql.param(sql.placeholder("issued"), environments.externalIdIssued)
  } = 1 and ${eq(environments.name, "literal")}`,
).toSQL();

Deno.test("compileFill fills a built query's params exactly as drizzle's fillPlaceholders", () => {
  const values = { id: 7, issued: true };
  const filled = compileFill(query.params)(values);
  assert.deepEqual(filled, fillPlaceholders(query.params, values));
  assert.deepEqual(filled, [7, 1, "literal"]);
});

Deno.test("compileFill throws drizzle's error for a placeholder without a value", () => {
  const fill = compileFill(query.params);
  assert.throws(() => fill({ id: 7 }), /No value for placeholder "issued" was provided/);
  assert.throws(
    () => fillPlaceholders(query.params, { id: 7 }),
    /No value for placeholder "issued" was provided/,
  );
});
