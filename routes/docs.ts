import { SwaggerUI } from "@hono/swagger-ui";
import type { OpenAPIHono } from "@hono/zod-openapi";
import { encodeBase64 } from "hono/utils/encode";
import { secureHeaders } from "hono/secure-headers";
import type { AppEnv } from "../http/router.ts";
import { problem } from "../http/problem.ts";

const ASSET_BASE = "/docs/assets";
// Served from the swagger-ui-dist npm package so /docs works offline and under a strict CSP.
const assets: Record<string, { specifier: string; type: string }> = {
  "swagger-ui.css": { specifier: "swagger-ui-dist/swagger-ui.css", type: "text/css" },
  "swagger-ui-bundle.js": {
    specifier: "swagger-ui-dist/swagger-ui-bundle.js",
    type: "text/javascript",
  },
};

/** How /docs behaves; see README "Docs page security". */
export interface DocsOptions {
  /** Keep the pasted bearer token in localStorage (all tabs, across restarts) instead of the tab. */
  persistAuthorization: boolean;
}

/** Mounts /openapi.json, /docs and the Swagger UI assets, the page under a strict CSP. */
export function mountDocs(
  app: OpenAPIHono<AppEnv>,
  document: () => unknown,
  options: DocsOptions,
) {
  const cache = new Map<string, Uint8Array<ArrayBuffer>>();
  // nosniff, no-referrer, no framing (also for browsers without CSP's frame-ancestors);
  // HSTS is left to the TLS front, as capwatch itself speaks plain HTTP.
  const headers = secureHeaders({ xFrameOptions: "DENY", strictTransportSecurity: false });
  app.use("/docs", headers);
  app.use(`${ASSET_BASE}/*`, headers);

  app.get("/openapi.json", (c) => c.json(document() as Record<string, unknown>));
  const html = [
    "<!doctype html>",
    '<html lang="en">',
    '<head><meta charset="utf-8" /><meta name="viewport" content="width=device-width, ' +
    'initial-scale=1" /><title>capwatch API</title></head>',
    "<body>",
    SwaggerUI({
      url: "/openapi.json",
      baseUrl: ASSET_BASE,
      persistAuthorization: options.persistAuthorization,
      displayOperationId: true,
      tryItOutEnabled: false,
    }),
    "</body>",
    "</html>",
  ].join("\n");
  // The page never changes, so the hashes of its inline script are taken once.
  const policy = inlineScriptHashes(html).then(contentSecurityPolicy);
  app.get("/docs", async (c) => c.html(html, 200, { "Content-Security-Policy": await policy }));
  app.get(`${ASSET_BASE}/swagger-ui-dist/:file`, async (c) => {
    const asset = assets[c.req.param("file")];
    if (!asset) return problem(c, 404, `No asset ${c.req.param("file")}`);
    let bytes = cache.get(asset.specifier);
    if (!bytes) {
      bytes = await Deno.readFile(new URL(import.meta.resolve(asset.specifier)));
      cache.set(asset.specifier, bytes);
    }
    return c.body(bytes, 200, {
      "Content-Type": `${asset.type}; charset=utf-8`,
      "Cache-Control": "public, max-age=86400",
    });
  });
}

/** The CSP of /docs: its own origin only, the inline script by hash, never framed. */
function contentSecurityPolicy(scriptHashes: string[]): string {
  return [
    "default-src 'self'",
    `script-src 'self' ${scriptHashes.join(" ")}`,
    "style-src 'self'",
    // Swagger UI's stylesheet draws its icons as data: SVGs.
    "img-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join("; ");
}

/** CSP source expressions ('sha256-…', CSP3 §8.4) for each inline <script> in `html`. */
async function inlineScriptHashes(html: string): Promise<string[]> {
  const scripts = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1]);
  return await Promise.all(scripts.map(async (script) => {
    const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(script));
    return `'sha256-${encodeBase64(digest)}'`;
  }));
}
