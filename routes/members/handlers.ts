import { answerJson } from "../../http/answer.ts";
import { nextPageLink } from "../../http/link.ts";
import type { AppRouteHandler } from "../../http/router.ts";
import type { MembershipRow } from "../../db/schema.ts";
import * as operations from "../../operations/members.ts";
import { refusalProblem } from "../refusal.ts";
import type * as routes from "./routes.ts";

// Each handler: the validated request → one operation (one conditional statement carrying the
// access and last-admin rules) → its answer, or the shared refusal map.

const present = (m: MembershipRow) => ({
  userId: m.userId,
  role: m.role,
  createdAt: new Date(m.createdAt).toISOString(),
});

export const list: AppRouteHandler<typeof routes.list> = async (c) => {
  const { id } = c.req.valid("param");
  const outcome = await operations.listMembersFor(
    c.get("deps").db,
    id,
    c.get("userId"),
    c.req.valid("query"),
  );
  if (!outcome.ok) return refusalProblem(c, outcome);
  return answerJson(c, outcome.page.map(present), 200, nextPageLink(c, outcome.next));
};

export const put: AppRouteHandler<typeof routes.put> = async (c) => {
  const { db, clock } = c.get("deps");
  const { id, userId } = c.req.valid("param");
  const { role } = c.req.valid("json");
  const outcome = await operations.setMember(
    db,
    { envId: id, actorId: c.get("userId"), userId, role },
    clock(),
  );
  if (!outcome.ok) return refusalProblem(c, outcome);
  if (!outcome.created) return c.json(present(outcome.member), 200);
  c.header("Location", `/api/environments/${id}/members/${encodeURIComponent(userId)}`);
  return c.json(present(outcome.member), 201);
};

export const remove: AppRouteHandler<typeof routes.remove> = async (c) => {
  const { id, userId } = c.req.valid("param");
  const outcome = await operations.removeMember(c.get("deps").db, {
    envId: id,
    actorId: c.get("userId"),
    userId,
  });
  if (!outcome.ok) return refusalProblem(c, outcome);
  return c.body(null, 204);
};
