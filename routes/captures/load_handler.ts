import type { AppRouteHandler } from "../../http/router.ts";
import { loadDeps } from "../aws_deps.ts";
import { readCaptureLoadFor, readSqlTextFor } from "../../operations/captures.ts";
import { refusalProblem } from "../refusal.ts";
import type * as routes from "./routes.ts";

export const load: AppRouteHandler<typeof routes.load> = async (c) => {
  const { id } = c.req.valid("param");
  const { groupBy, limit } = c.req.valid("query");
  const deps = c.get("deps");
  const outcome = await readCaptureLoadFor(
    loadDeps(deps),
    id,
    c.get("userId"),
    { groupBy, limit },
    deps.clock(),
  );
  if (!outcome.ok) return refusalProblem(c, outcome);
  return c.json(outcome.load, 200);
};

export const sqlText: AppRouteHandler<typeof routes.sqlText> = async (c) => {
  const { id, digestId } = c.req.valid("param");
  const deps = c.get("deps");
  const outcome = await readSqlTextFor(loadDeps(deps), id, c.get("userId"), digestId, deps.clock());
  if (!outcome.ok) return refusalProblem(c, outcome);
  return c.json(outcome.sql, 200);
};
