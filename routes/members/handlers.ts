import type { Context } from "hono";
import { canManageEnvironment } from "../../auth/access.ts";
import { findEnvironmentForMember } from "../../db/environments.ts";
import { listMembers, putMember, removeMember } from "../../db/memberships.ts";
import type { MembershipRow } from "../../db/schema.ts";
import { problem } from "../../http/problem.ts";
import type { AppEnv, AppRouteHandler } from "../../http/router.ts";
import type * as routes from "./routes.ts";

const present = (m: MembershipRow) => ({
  userId: m.userId,
  role: m.role,
  createdAt: new Date(m.createdAt).toISOString(),
});

export const list: AppRouteHandler<typeof routes.list> = async (c) => {
  const { db } = c.var.deps;
  const { id } = c.req.valid("param");
  if (!await findEnvironmentForMember(db, id, c.var.userId)) return notFound(c, id);
  return c.json((await listMembers(db, id)).map(present), 200);
};

export const put: AppRouteHandler<typeof routes.put> = async (c) => {
  const { db, clock } = c.var.deps;
  const { id, userId } = c.req.valid("param");
  const { role } = c.req.valid("json");
  const found = await findEnvironmentForMember(db, id, c.var.userId);
  if (!found) return notFound(c, id);
  if (!canManageEnvironment(found.role)) return forbidden(c, id);
  const result = await putMember(db, id, userId, role, clock());
  if (result === "last_admin") return lastAdmin(c, id, userId);
  if (!result.created) return c.json(present(result.member), 200);
  c.header("Location", `/api/environments/${id}/members/${encodeURIComponent(userId)}`);
  return c.json(present(result.member), 201);
};

export const remove: AppRouteHandler<typeof routes.remove> = async (c) => {
  const { db } = c.var.deps;
  const { id, userId } = c.req.valid("param");
  const found = await findEnvironmentForMember(db, id, c.var.userId);
  if (!found) return notFound(c, id);
  const leaving = userId === c.var.userId;
  if (!leaving && !canManageEnvironment(found.role)) return forbidden(c, id);
  const result = await removeMember(db, id, userId);
  if (result === "last_admin") return lastAdmin(c, id, userId);
  if (result === "not_member") {
    return problem(c, 404, `${userId} is not a member of environment ${id}`);
  }
  return c.body(null, 204);
};

function notFound(c: Context<AppEnv>, id: number) {
  return problem(c, 404, `Environment ${id} does not exist or you are not a member of it`);
}

function forbidden(c: Context<AppEnv>, id: number) {
  return problem(c, 403, `Only admins of environment ${id} may manage its members`);
}

function lastAdmin(c: Context<AppEnv>, id: number, userId: string) {
  return problem(
    c,
    409,
    `${userId} is the last admin of environment ${id}; make another member admin first`,
  );
}
