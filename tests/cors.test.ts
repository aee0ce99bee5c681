import assert from "node:assert/strict";
import { ConfigError, loadConfig } from "../config.ts";
import { testContext } from "./helpers/context.ts";

const BASE = { JWT_SECRET: "x".repeat(32) };

Deno.test("CORS_ORIGINS: unset is off; a comma list of origins or * is read; anything else names it", () => {
  assert.equal(loadConfig(BASE).corsOrigins, undefined);
  assert.equal(loadConfig({ ...BASE, CORS_ORIGINS: "" }).corsOrigins, undefined);
  assert.deepEqual(
    loadConfig({ ...BASE, CORS_ORIGINS: "https://app.example.com, http://localhost:5173" })
      .corsOrigins,
    ["https://app.example.com", "http://localhost:5173"],
  );
  assert.deepEqual(loadConfig({ ...BASE, CORS_ORIGINS: "*" }).corsOrigins, ["*"]);
  for (const bad of ["https://app.example.com/", "app.example.com", "ftp://x.example", " , "]) {
    assert.throws(
      () => loadConfig({ ...BASE, CORS_ORIGINS: bad }),
      (e: Error) => e instanceof ConfigError && e.message.includes("CORS_ORIGINS"),
      bad,
    );
  }
});

const ORIGIN = "https://app.example.com";

Deno.test("with CORS_ORIGINS a preflight is answered and the answer's headers are exposed", async () => {
  await using t = await testContext({ env: { CORS_ORIGINS: `${ORIGIN},http://localhost:5173` } });
  const preflight = await t.app.request("/api/captures/7", {
    method: "OPTIONS",
    headers: {
      Origin: ORIGIN,
      "Access-Control-Request-Method": "PATCH",
      "Access-Control-Request-Headers": "authorization, content-type, if-match",
    },
  });
  assert.equal(preflight.status, 204);
  assert.equal(preflight.headers.get("access-control-allow-origin"), ORIGIN);
  assert.match(preflight.headers.get("access-control-allow-methods") ?? "", /PATCH/);
  const allowed = (preflight.headers.get("access-control-allow-headers") ?? "").split(",");
  for (
    const h of ["Authorization", "Content-Type", "Idempotency-Key", "If-Match", "If-None-Match"]
  ) {
    assert.ok(allowed.includes(h), h);
  }
  const env = await t.createEnvironment("alice");
  const res = await t.as("alice").get(`/api/captures?envId=${env.id}`, { Origin: ORIGIN });
  await res.body?.cancel();
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("access-control-allow-origin"), ORIGIN);
  const exposed = (res.headers.get("access-control-expose-headers") ?? "").split(",");
  for (const h of ["Link", "Location", "ETag", "X-Request-Id", "Retry-After", "RateLimit"]) {
    assert.ok(exposed.includes(h), h);
  }
  // A 401 and a 405 say what to do next in WWW-Authenticate and Allow: a browser app reads them.
  const anonymous = await t.app.request("/api/captures", { headers: { Origin: ORIGIN } });
  await anonymous.body?.cancel();
  assert.equal(anonymous.status, 401);
  assert.ok(anonymous.headers.get("www-authenticate"));
  const exposedOn401 = (anonymous.headers.get("access-control-expose-headers") ?? "").split(",");
  assert.ok(exposedOn401.includes("WWW-Authenticate"), exposedOn401.join());
  const wrongMethod = await t.as("alice").delete("/api/captures", { Origin: ORIGIN });
  await wrongMethod.body?.cancel();
  assert.equal(wrongMethod.status, 405);
  assert.ok(wrongMethod.headers.get("allow"));
  const exposedOn405 = (wrongMethod.headers.get("access-control-expose-headers") ?? "").split(",");
  assert.ok(exposedOn405.includes("Allow"), exposedOn405.join());
  const stranger = await t.as("alice").get("/api/captures", { Origin: "https://evil.example" });
  await stranger.body?.cancel();
  assert.equal(stranger.headers.get("access-control-allow-origin"), null);
});

Deno.test("without CORS_ORIGINS no CORS header is sent", async () => {
  await using t = await testContext();
  const res = await t.as("alice").get("/api/captures", { Origin: ORIGIN });
  await res.body?.cancel();
  assert.equal(res.headers.get("access-control-allow-origin"), null);
  const preflight = await t.app.request("/api/captures", {
    method: "OPTIONS",
    headers: { Origin: ORIGIN, "Access-Control-Request-Method": "POST" },
  });
  await preflight.body?.cancel();
  // README: without CORS_ORIGINS the preflight is 405, like any method a route does not serve.
  assert.equal(preflight.status, 405);
  assert.equal(preflight.headers.get("access-control-allow-origin"), null);
});
