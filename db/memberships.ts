import { and, asc, eq, exists, ne, or } from "drizzle-orm";
import { QueryBuilder } from "drizzle-orm/sqlite-core";
import type { Database } from "./client.ts";
import { type MembershipRow, memberships, type Role } from "./schema.ts";

/** The members of an environment, admins first. */
export function listMembers(db: Database, envId: number): Promise<MembershipRow[]> {
  return db.select().from(memberships)
    .where(eq(memberships.envId, envId))
    .orderBy(asc(memberships.role), asc(memberships.userId));
}

/** The user's membership, or undefined. */
export async function findMembership(db: Database, envId: number, userId: string) {
  const [row] = await db.select().from(memberships)
    .where(and(eq(memberships.envId, envId), eq(memberships.userId, userId)));
  return row;
}

/**
 * Adds a member or changes a role in one conditional statement; "last_admin" when the change
 * would leave the environment without an admin.
 */
export async function putMember(
  db: Database,
  envId: number,
  userId: string,
  role: Role,
  now: Date,
): Promise<{ member: MembershipRow; created: boolean } | "last_admin"> {
  const existing = await findMembership(db, envId, userId);
  const [member] = await db.insert(memberships)
    .values({ envId, userId, role, createdAt: now.getTime() })
    .onConflictDoUpdate({
      target: [memberships.envId, memberships.userId],
      set: { role },
      // A demotion applies only while another admin stays.
      setWhere: role === "admin" ? undefined : exists(otherAdmins(envId, userId)),
    })
    .returning();
  if (!member) return "last_admin";
  return { member, created: !existing };
}

/** Removes a member unless they are the last admin; "not_member" or "last_admin" otherwise. */
export async function removeMember(
  db: Database,
  envId: number,
  userId: string,
): Promise<"removed" | "not_member" | "last_admin"> {
  const rows = await db.delete(memberships)
    .where(and(
      eq(memberships.envId, envId),
      eq(memberships.userId, userId),
      or(ne(memberships.role, "admin"), exists(otherAdmins(envId, userId))),
    ))
    .returning({ userId: memberships.userId });
  if (rows.length > 0) return "removed";
  return (await findMembership(db, envId, userId)) ? "last_admin" : "not_member";
}

/** The admins of `envId` other than `userId`: while one exists, `userId` may stop being one. */
const otherAdmins = (envId: number, userId: string) =>
  new QueryBuilder().select({ userId: memberships.userId }).from(memberships).where(and(
    eq(memberships.envId, envId),
    eq(memberships.role, "admin"),
    ne(memberships.userId, userId),
  ));
