// /docs security headers and the persistAuthorization switch (the browser test proves the page
// still works under this policy and stores nothing in localStorage).
import assert from "node:assert/strict";
import { testContext } from "./helpers/context.ts";

Deno.test("GET /docs sends a hash-based CSP, frame-ancestors 'none', nosniff and no-referrer", async () => {
  await using t = await testContext();
  const res = await t.app.request("/docs");
  const html = await res.text();
  const csp = res.headers.get("content-security-policy") ?? "";
  assert.match(csp, /frame-ancestors 'none'/);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
  const inline = /<script>([\s\S]*?)<\/script>/.exec(html)![1];
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(inline));
  const hash = btoa(String.fromCharCode(...new Uint8Array(digest)));
  assert.ok(csp.includes(`'sha256-${hash}'`), csp);
  assert.equal(res.headers.get("x-content-type-options"), "nosniff");
  assert.equal(res.headers.get("referrer-policy"), "no-referrer");
  assert.equal(res.headers.get("x-frame-options"), "DENY");
  assert.match(html, /persistAuthorization: false/);
  const asset = await t.app.request("/docs/assets/swagger-ui-dist/swagger-ui.css");
  assert.equal(asset.headers.get("x-content-type-options"), "nosniff");
});

Deno.test("DOCS_PERSIST_AUTHORIZATION=true keeps /docs authorization in localStorage", async () => {
  await using t = await testContext({ env: { DOCS_PERSIST_AUTHORIZATION: "true" } });
  const html = await (await t.app.request("/docs")).text();
  assert.match(html, /persistAuthorization: true/);
});
