import {
  type Hook,
  OpenAPIHono,
  type RouteConfig,
  type RouteHandler,
  type z,
} from "@hono/zod-openapi";
import type { Context } from "hono";
import type { AppEnv } from "./deps.ts";
import { checkFields, problem } from "./problem.ts";

// AppEnv lives beside AppDeps, so the files router.ts imports need nothing from it.
export type { AppEnv } from "./deps.ts";

/** Turns a failed zod validation into a 400 problem naming each offending field. */
// deno-lint-ignore no-explicit-any -- the hook is shared by routes with different inputs
export const validationHook: Hook<any, AppEnv, any, any> = (result, c) => {
  if (result.success) return;
  const where = (path: PropertyKey[]) =>
    path.map(String).join(".") || (result.target === "json" ? "body" : result.target);
  // Strict objects report unknown keys on the parent; name each key so the caller sees the field.
  const errors = result.error.issues.flatMap((issue) =>
    issue.code === "unrecognized_keys"
      ? issue.keys.map((key) => ({
        path: where([...issue.path, key]),
        message: "Unknown field; remove it",
      }))
      : [{ path: where(issue.path), message: issue.message }]
  );
  return problem(c, 400, checkFields(errors.map((e) => e.path)), { errors });
};

/** A router with the shared validation hook; route files build theirs with it. */
export function createRouter() {
  return new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
}

/** A handler typed from its route's contract (params, body, every declared answer). */
export type AppRouteHandler<R extends RouteConfig> = RouteHandler<R, AppEnv>;

/**
 * Checks the request headers `schema` declares as @hono/zod-validator's header check would (the
 * same schema, the same hook, so the same 400 problem naming each header), reading only those
 * headers: the parsed headers when they pass, else the hook's answer. For a route registered
 * without its header check (routes/headers_checked_elsewhere.ts) whose handler calls this first,
 * where the validator would run (after the path and query checks); the validator copies every
 * request header into two objects and adds a middleware layer to each request.
 */
export function checkDeclaredHeaders<S extends z.ZodObject>(
  c: Context<AppEnv>,
  schema: S,
): { ok: true; headers: z.infer<S> } | { ok: false; answer: Response } {
  const value: Record<string, string> = {};
  for (const name of Object.keys(schema.shape)) {
    const given = c.req.header(name);
    if (given !== undefined) value[name] = given;
  }
  const result = schema.safeParse(value);
  if (result.success) return { ok: true, headers: result.data };
  return { ok: false, answer: validationHook({ ...result, target: "header" }, c) as Response };
}
