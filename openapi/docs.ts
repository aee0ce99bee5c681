import { swaggerUI } from "@hono/swagger-ui";
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../routes/router.ts";
import { problem } from "../routes/problem.ts";

const ASSET_BASE = "/docs/assets";
// Served from the swagger-ui-dist npm package so /docs works offline and under a strict CSP.
const assets: Record<string, { specifier: string; type: string }> = {
  "swagger-ui.css": { specifier: "swagger-ui-dist/swagger-ui.css", type: "text/css" },
  "swagger-ui-bundle.js": {
    specifier: "swagger-ui-dist/swagger-ui-bundle.js",
    type: "text/javascript",
  },
};

/** Mounts /openapi.json, /docs and the Swagger UI assets. */
export function mountDocs(app: OpenAPIHono<AppEnv>, document: () => unknown) {
  const cache = new Map<string, Uint8Array<ArrayBuffer>>();

  app.get("/openapi.json", (c) => c.json(document() as Record<string, unknown>));
  app.get(
    "/docs",
    swaggerUI({
      url: "/openapi.json",
      baseUrl: ASSET_BASE,
      title: "capwatch API",
      persistAuthorization: true,
      displayOperationId: true,
      tryItOutEnabled: false,
    }),
  );
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
