import { and, asc, eq, exists, gt, inArray, ne, or, sql } from "drizzle-orm";
import { alias, QueryBuilder } from "drizzle-orm/sqlite-core";
import type { Database } from "./client.ts";
import { insertSelection } from "./insert_select.ts";
import { type MembershipRow, memberships, type Role } from "./schema.ts";

/** Where a page of members starts: after this member in the list's order (role, then user id). */
export interface MemberKey {
  role: Role;
  userId: string;
}

/** The members of an environment, admins first, then by user id; one page plus one. */
export function listMembers(
  db: Database,
  envId: number,
  page: { after?: MemberKey; limit: number },
): Promise<MembershipRow[]> {
  const { after } = page;
  return db.select().from(memberships)
    .where(and(
      eq(memberships.envId, envId),
      after === undefined ? undefined : or(
        gt(memberships.role, after.role),
        and(eq(memberships.role, after.role), gt(memberships.userId, after.userId)),
      ),
    ))
    .orderBy(asc(memberships.role), asc(memberships.userId))
    .limit(page.limit + 1);
}

/** The memberships of `userIds` in one environment, in one read (to explain a refused change). */
export function findMemberships(db: Database, envId: number, userIds: string[]) {
  return db.select().from(memberships)
    .where(and(eq(memberships.envId, envId), inArray(memberships.userId, userIds)));
}

/** A membership change requested by `actorId`. */
export interface MemberChange {
  envId: number;
  actorId: string;
  userId: string;
}

const actor = alias(memberships, "actor");

/**
 * Adds a member or changes a role in one conditional statement, `INSERT … SELECT` from the actor's
 * own admin membership, so it changes nothing unless the actor is an admin when it runs; a
 * demotion applies only while another admin stays. Undefined when nothing changed (the caller
 * explains why with one read).
 */
export async function putMemberIfAdmin(
  db: Database,
  change: MemberChange & { role: Role },
  now: Date,
): Promise<{ member: MembershipRow; created: boolean } | undefined> {
  const { envId, actorId, userId, role } = change;
  // One write transaction: the read says whether the upsert below adds or changes.
  const [before, written] = await db.batch([
    db.select({ userId: memberships.userId }).from(memberships)
      .where(and(eq(memberships.envId, envId), eq(memberships.userId, userId))),
    db.insert(memberships).select(
      db.select(insertSelection(memberships, {
        envId: actor.envId,
        userId,
        role,
        createdAt: now.getTime(),
      })).from(actor).where(
        and(eq(actor.envId, envId), eq(actor.userId, actorId), eq(actor.role, "admin")),
      ),
    ).onConflictDoUpdate({
      target: [memberships.envId, memberships.userId],
      set: { role },
      setWhere: role === "admin" ? undefined : exists(otherAdmins(envId, userId)),
    }).returning(),
  ]);
  const [member] = written;
  return member ? { member, created: before.length === 0 } : undefined;
}

/**
 * Removes a member in one conditional statement: the actor is an admin of the environment, or the
 * member themselves (leaving); never the last admin. False when nothing was removed.
 */
export async function removeMemberIfAllowed(db: Database, change: MemberChange): Promise<boolean> {
  const { envId, actorId, userId } = change;
  const rows = await db.delete(memberships)
    .where(and(
      eq(memberships.envId, envId),
      eq(memberships.userId, userId),
      or(ne(memberships.role, "admin"), exists(otherAdmins(envId, userId))),
      actorId === userId ? undefined : exists(adminMembership(envId, actorId)),
    ))
    .returning({ userId: memberships.userId });
  return rows.length > 0;
}

/** The admins of `envId` other than `userId`: while one exists, `userId` may stop being one. */
const otherAdmins = (envId: number, userId: string) =>
  new QueryBuilder().select({ userId: memberships.userId }).from(memberships).where(and(
    eq(memberships.envId, envId),
    eq(memberships.role, "admin"),
    ne(memberships.userId, userId),
  ));

/** `userId`'s admin membership of `envId` (the SQL twin of auth/access.ts canManageEnvironment). */
const adminMembership = (envId: number, userId: string) =>
  new QueryBuilder().select({ one: sql`1` }).from(actor).where(and(
    eq(actor.envId, envId),
    eq(actor.userId, userId),
    eq(actor.role, "admin"),
  ));
