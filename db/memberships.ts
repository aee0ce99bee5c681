import { and, asc, eq, sql } from "drizzle-orm";
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
  const rows = await db.all<Record<string, unknown>>(sql`
    INSERT INTO memberships (env_id, user_id, role, created_at)
    VALUES (${envId}, ${userId}, ${role}, ${now.getTime()})
    ON CONFLICT (env_id, user_id) DO UPDATE SET role = excluded.role
    WHERE excluded.role = 'admin'
      OR (SELECT count(*) FROM memberships
          WHERE env_id = excluded.env_id AND role = 'admin' AND user_id <> excluded.user_id) > 0
    RETURNING env_id, user_id, role, created_at`);
  if (rows.length === 0) return "last_admin";
  const row = rows[0];
  return {
    member: {
      envId: Number(row.env_id),
      userId: String(row.user_id),
      role: row.role as Role,
      createdAt: Number(row.created_at),
    },
    created: !existing,
  };
}

/** Removes a member unless they are the last admin; "not_member" or "last_admin" otherwise. */
export async function removeMember(
  db: Database,
  envId: number,
  userId: string,
): Promise<"removed" | "not_member" | "last_admin"> {
  const rows = await db.all(sql`
    DELETE FROM memberships
    WHERE env_id = ${envId} AND user_id = ${userId}
      AND (role <> 'admin'
        OR (SELECT count(*) FROM memberships WHERE env_id = ${envId} AND role = 'admin') > 1)
    RETURNING user_id`);
  if (rows.length > 0) return "removed";
  return (await findMembership(db, envId, userId)) ? "last_admin" : "not_member";
}
