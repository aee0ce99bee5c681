import type { OpenAPIHono, RouteConfig, RouteHandler } from "@hono/zod-openapi";
import type { AppEnv } from "../http/router.ts";

/**
 * Registers `route` on `router` with its request headers in the OpenAPI document as declared, but
 * without @hono/zod-validator's header check at run time: for a route whose middleware checks
 * those headers itself, by the same rules, and answers before the validator could run (the
 * Idempotency-Key middleware answers 400 for a key the schema refuses), or whose handler checks
 * them first with the same schema and hook (http/router.ts checkDeclaredHeaders). That validator copies
 * every request header into an object and parses it, ~3 µs of each POST. The route's path,
 * body, answers and middleware are unchanged.
 */
export function openapiHeadersCheckedElsewhere<R extends RouteConfig>(
  router: OpenAPIHono<AppEnv>,
  route: R,
  handler: RouteHandler<R, AppEnv>,
): OpenAPIHono<AppEnv> {
  const { middleware: _middleware, ...documented } = route;
  router.openAPIRegistry.registerPath(documented);
  const { headers: _headers, ...request } = route.request ?? {};
  // The same route without its header schema, left out of the document (registered above).
  const run = { ...route, request, hide: true } as R;
  return router.openapi(run, handler) as unknown as OpenAPIHono<AppEnv>;
}
