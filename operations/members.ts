import { canManageEnvironment } from "../auth/access.ts";
import type { Database } from "../db/client.ts";
import { findEnvironmentForMember } from "../db/environments.ts";
import {
  findMemberships,
  listMembers,
  type MemberKey,
  putMemberIfAdmin,
  removeMemberIfAllowed,
} from "../db/memberships.ts";
import type { MembershipRow, Role } from "../db/schema.ts";
import { invalidField } from "../lifecycle/rules.ts";
import { ROLES } from "../vocabulary.ts";
import { BAD_CURSOR, decodeCursor, encodeCursor, pageOf } from "./cursor.ts";
import { environmentNotFound, type Outcome, type Refusal } from "./outcome.ts";

// Each change is one conditional statement carrying the access rule (the actor is an admin, or
// the member leaving) and the last-admin rule; only when it changed nothing does one read of the
// two memberships involved say why.

const forbidden = (envId: number): Refusal & { kind: "forbidden" } => ({
  ok: false,
  kind: "forbidden",
  detail: `Only admins of environment ${envId} may manage its members`,
});

const lastAdmin = (envId: number, userId: string) => ({
  ok: false,
  kind: "conflict",
  problemKind: "invalid-state",
  detail: `${userId} is the last admin of environment ${envId}; make another member admin first`,
} as const);

const changedMeanwhile = (envId: number, userId: string) => ({
  ok: false,
  kind: "conflict",
  problemKind: "conflict",
  detail:
    `The membership of ${userId} in environment ${envId} changed meanwhile; read it and retry`,
} as const);

/** A members cursor: the last member of the page, as "m1:<role>:<userId>". */
const memberCursor = (m: MembershipRow) => encodeCursor("m1", `${m.role}:${m.userId}`);

function memberKey(cursor: string): MemberKey | undefined {
  const key = decodeCursor("m1", cursor);
  const colon = key?.indexOf(":") ?? -1;
  if (key === undefined || colon < 0) return undefined;
  const role = key.slice(0, colon) as Role;
  return ROLES.includes(role) ? { role, userId: key.slice(colon + 1) } : undefined;
}

/** One page (plus one) of an environment's members, admins first, for any member of it. */
export async function listMembersFor(
  db: Database,
  envId: number,
  userId: string,
  page: { limit: number; cursor?: string },
): Promise<Outcome<{ page: MembershipRow[]; next?: string }, "not_found" | "invalid">> {
  if (!await findEnvironmentForMember(db, envId, userId)) return environmentNotFound(envId);
  const after = page.cursor === undefined ? undefined : memberKey(page.cursor);
  if (page.cursor !== undefined && after === undefined) return invalidField("cursor", BAD_CURSOR);
  const rows = await listMembers(db, envId, { after, limit: page.limit });
  return { ok: true, ...pageOf(rows, page.limit, memberCursor) };
}

/** The actor's and the target's memberships, in one read. */
async function readBoth(db: Database, envId: number, actorId: string, userId: string) {
  const rows = await findMemberships(db, envId, [actorId, userId]);
  return {
    actor: rows.find((m) => m.userId === actorId),
    target: rows.find((m) => m.userId === userId),
  };
}

/** Adds `userId` with `role`, or changes their role, as an admin (actorId) of the environment. */
export async function setMember(
  db: Database,
  change: { envId: number; actorId: string; userId: string; role: Role },
  now: Date,
): Promise<
  Outcome<{ member: MembershipRow; created: boolean }, "not_found" | "forbidden" | "conflict">
> {
  const done = await putMemberIfAdmin(db, change, now);
  if (done) return { ok: true, ...done };
  const { envId, actorId, userId } = change;
  const { actor, target } = await readBoth(db, envId, actorId, userId);
  if (!actor) return environmentNotFound(envId);
  if (!canManageEnvironment(actor.role)) return forbidden(envId);
  // The statement refuses only a demotion that would leave no admin.
  return target?.role === "admin" ? lastAdmin(envId, userId) : changedMeanwhile(envId, userId);
}

/** Removes `userId`: an admin removes anyone, a member removes themselves; never the last admin. */
export async function removeMember(
  db: Database,
  change: { envId: number; actorId: string; userId: string },
): Promise<Outcome<object, "not_found" | "forbidden" | "conflict">> {
  if (await removeMemberIfAllowed(db, change)) return { ok: true };
  const { envId, actorId, userId } = change;
  const { actor, target } = await readBoth(db, envId, actorId, userId);
  if (!actor) return environmentNotFound(envId);
  if (actorId !== userId && !canManageEnvironment(actor.role)) return forbidden(envId);
  if (!target) {
    return {
      ok: false,
      kind: "not_found",
      detail: `${userId} is not a member of environment ${envId}`,
    };
  }
  return target.role === "admin" ? lastAdmin(envId, userId) : changedMeanwhile(envId, userId);
}
