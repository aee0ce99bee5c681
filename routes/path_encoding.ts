import { createMiddleware } from "hono/factory";
import { problem } from "../http/problem.ts";
import { requestTarget } from "../http/request_target.ts";
import type { AppEnv } from "../http/router.ts";

/**
 * Refuses a path whose percent-encoding does not decode to well-formed UTF-8 (RFC 3986 §2.1,
 * RFC 3629), with 400 naming the parameter. Hono keeps a segment it cannot decode as its raw
 * text, so `/members/%FF` would otherwise name a user called "%FF", the same one `/members/%25FF`
 * names. For routes with a text path parameter (integers are refused by their own parser), after
 * `requireUser` so an anonymous caller still gets 401.
 */
export const wellEncodedPath = createMiddleware<AppEnv>(async (c, next) => {
  const raw = requestTarget(c).pathname;
  if (!raw.includes("%")) return await next();
  const segments = raw.split("/");
  const bad = segments.findIndex((segment) => !decodes(segment));
  if (bad === -1) return await next();
  // Named as the route names it (`userId`, `id`), like every other problem with a parameter.
  const route = c.req.matchedRoutes.map((r) => r.path).find((path) => !path.endsWith("*"));
  const name = route?.split("/")[bad]?.match(/^:(\w+)/)?.[1] ?? "path";
  return problem(c, 400, `Check ${name}: it is not valid percent-encoded UTF-8`, {
    errors: [{ path: name, message: "has a percent-escape that is not valid UTF-8" }],
  });
});

function decodes(segment: string): boolean {
  try {
    decodeURIComponent(segment);
    return true;
  } catch (error) {
    if (error instanceof URIError) return false;
    throw error;
  }
}
