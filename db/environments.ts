import { and, asc, eq, exists, gt, inArray, notExists, type SQL, sql } from "drizzle-orm";
import { QueryBuilder } from "drizzle-orm/sqlite-core";
import { insertSelection } from "./insert_select.ts";
import type { Database } from "./client.ts";
import { isUniqueViolation } from "./errors.ts";
import { preparedPerDatabase } from "./prepared.ts";
import {
  captures,
  captureSnapshots,
  captureSnapshotSeries,
  type EnvironmentRow,
  environments,
  memberships,
  type Role,
} from "./schema.ts";

/** An environment as one member sees it. */
export interface EnvironmentForMember {
  env: EnvironmentRow;
  role: Role;
}

export interface NewEnvironment {
  name: string;
  region: string;
  dbInstanceIdentifier: string;
  ownerId: string;
  accessKeyId: string | null;
  secretCiphertext: string | null;
  roleArn?: string | null;
  externalId?: string | null;
}

export type EnvironmentChanges = Partial<
  Pick<
    EnvironmentRow,
    | "name"
    | "region"
    | "dbInstanceIdentifier"
    | "accessKeyId"
    | "secretCiphertext"
    | "roleArn"
    | "externalId"
  >
>;

/** Every environment the user is a member of, oldest first, after `afterId`; one page plus one. */
export function listEnvironmentsForMember(
  db: Database,
  userId: string,
  page: { afterId?: number; limit: number },
): Promise<EnvironmentForMember[]> {
  return db.select({ env: environments, role: memberships.role })
    .from(memberships)
    .innerJoin(environments, eq(environments.id, memberships.envId))
    .where(and(
      eq(memberships.userId, userId),
      page.afterId === undefined ? undefined : gt(memberships.envId, page.afterId),
    ))
    .orderBy(asc(memberships.envId))
    .limit(page.limit + 1);
}

const environmentForMember = preparedPerDatabase((db) =>
  db.select({ env: environments, role: memberships.role })
    .from(memberships)
    .innerJoin(environments, eq(environments.id, memberships.envId))
    .where(and(
      eq(memberships.envId, sql.placeholder("envId")),
      eq(memberships.userId, sql.placeholder("userId")),
    ))
    .prepare()
);

/** The environment with the user's role in it, or undefined when the user is not a member. */
export function findEnvironmentForMember(
  db: Database,
  envId: number,
  userId: string,
): Promise<EnvironmentForMember | undefined> {
  return environmentForMember(db).get({ envId, userId });
}

/** The environment row by id, for internal use (sweeper, metrics); no access check. */
export async function findEnvironment(db: Database, envId: number) {
  const [row] = await db.select().from(environments).where(eq(environments.id, envId));
  return row;
}

/**
 * Creates the environment with its creator as first admin, atomically; "name_taken" when the
 * creator already owns an environment of that name (names are unique per owner).
 */
export async function insertEnvironment(
  db: Database,
  input: NewEnvironment,
  now: Date,
): Promise<EnvironmentRow | "name_taken"> {
  const at = now.getTime();
  try {
    const [inserted] = await db.batch([
      db.insert(environments).values({ ...input, createdAt: at, updatedAt: at }).returning(),
      // The new environment's id is known only inside the batch, so the membership selects it.
      db.insert(memberships).select(
        db.select(insertSelection(memberships, {
          envId: environments.id,
          userId: input.ownerId,
          role: "admin",
          createdAt: at,
        })).from(environments).where(
          and(eq(environments.ownerId, input.ownerId), eq(environments.name, input.name)),
        ),
      ),
    ]);
    return inserted[0];
  } catch (error) {
    if (isUniqueViolation(error)) return "name_taken";
    throw error;
  }
}

/**
 * What a change of an environment requires, all inside its one statement: the actor is an admin
 * of it, and (for If-Match) its version is one of `versions` ("*" or absent: any).
 */
export interface EnvironmentGuard {
  actorId: string;
  versions?: "*" | number[];
}

/**
 * The SQL of a guard on the `environments` row: the actor's admin membership is in the WHERE, so
 * a role lost while the request ran cannot slip through (the SQL twin of auth/access.ts
 * canManageEnvironment).
 */
function guarded(envId: number, guard: EnvironmentGuard): SQL | undefined {
  return and(
    eq(environments.id, envId),
    exists(
      new QueryBuilder().select({ one: sql`1` }).from(memberships).where(and(
        eq(memberships.envId, environments.id),
        eq(memberships.userId, guard.actorId),
        eq(memberships.role, "admin"),
      )),
    ),
    guard.versions === undefined || guard.versions === "*"
      ? undefined
      : inArray(environments.version, guard.versions),
  );
}

/**
 * Applies changes in one conditional statement (guard in its WHERE) and bumps the version;
 * undefined when the guard did not hold (or the environment is gone), "name_taken" when its owner
 * already has an environment of the new name.
 */
export async function updateEnvironmentIfAdmin(
  db: Database,
  envId: number,
  guard: EnvironmentGuard,
  changes: EnvironmentChanges,
  now: Date,
): Promise<EnvironmentRow | "name_taken" | undefined> {
  try {
    const [row] = await db.update(environments)
      .set({ ...changes, updatedAt: now.getTime(), version: sql`${environments.version} + 1` })
      .where(guarded(envId, guard))
      .returning();
    return row;
  } catch (error) {
    if (isUniqueViolation(error)) return "name_taken";
    throw error;
  }
}

/**
 * Deletes the environment, when the guard holds, with its memberships, captures and snapshots in
 * one batch; false when nothing was deleted. The environment's own delete decides; each child
 * delete runs only once the environment is gone.
 */
export async function deleteEnvironmentIfAdmin(
  db: Database,
  envId: number,
  guard: EnvironmentGuard,
): Promise<boolean> {
  const gone = notExists(
    new QueryBuilder().select({ id: environments.id }).from(environments)
      .where(eq(environments.id, envId)),
  );
  // Explicit child deletes: foreign-key cascades depend on a per-connection pragma.
  const [deleted] = await db.batch([
    db.delete(environments).where(guarded(envId, guard)).returning({ id: environments.id }),
    db.delete(captureSnapshotSeries).where(
      and(inArray(captureSnapshotSeries.captureId, capturesOf(envId)), gone),
    ),
    db.delete(captureSnapshots).where(
      and(inArray(captureSnapshots.captureId, capturesOf(envId)), gone),
    ),
    db.delete(captures).where(and(eq(captures.envId, envId), gone)),
    db.delete(memberships).where(and(eq(memberships.envId, envId), gone)),
  ]);
  return deleted.length > 0;
}

const capturesOf = (envId: number) =>
  new QueryBuilder().select({ id: captures.id }).from(captures).where(eq(captures.envId, envId));
