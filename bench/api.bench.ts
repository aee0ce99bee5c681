// deno task bench: capwatch's hot read paths against a bare Hono app answering the same
// bytes, measured in the same run, so the ratio shows what auth, validation and SQL cost.
import { Hono } from "hono";
import { testContext } from "../tests/helpers/context.ts";

const t = await testContext({ now: "2026-01-01T00:00:00Z" });
const env = await t.createEnvironment("owner");
for (let i = 0; i < 500; i++) {
  const res = await t.as("owner").post("/api/captures", {
    name: `capture-${i}`,
    envId: env.id,
    start: "2025-12-31T00:00:00Z",
    duration: 3600,
  });
  if (res.status !== 201) throw new Error(`seed failed: ${res.status}`);
}
const token = await t.token("owner", 24 * 3600);
const headers = { Authorization: `Bearer ${token}` };
const page = await (await t.app.request("/api/captures?limit=50", { headers })).text();
const one = await (await t.app.request("/api/captures/250", { headers })).text();

const bare = new Hono()
  .get("/page", (c) => c.body(page, 200, { "Content-Type": "application/json" }))
  .get("/one", (c) => c.body(one, 200, { "Content-Type": "application/json" }));

Deno.bench("bare Hono: a 50-capture page", { group: "list", baseline: true }, async () => {
  await (await bare.request("/page")).arrayBuffer();
});
Deno.bench("GET /api/captures?limit=50 (500 stored)", { group: "list" }, async () => {
  await (await t.app.request("/api/captures?limit=50", { headers })).arrayBuffer();
});
Deno.bench("GET /api/captures?status=DONE&limit=50", { group: "list" }, async () => {
  await (await t.app.request("/api/captures?status=DONE&limit=50", { headers })).arrayBuffer();
});

Deno.bench("bare Hono: one capture", { group: "get", baseline: true }, async () => {
  await (await bare.request("/one")).arrayBuffer();
});
Deno.bench("GET /api/captures/{id}", { group: "get" }, async () => {
  await (await t.app.request("/api/captures/250", { headers })).arrayBuffer();
});
