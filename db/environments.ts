import { and, asc, eq, sql } from "drizzle-orm";
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

/** Every environment the user is a member of, oldest first. */
export async function listEnvironmentsForMember(
  db: Database,
  userId: string,
): Promise<EnvironmentForMember[]> {
  const rows = await db.select({ env: environments, role: memberships.role })
    .from(memberships)
    .innerJoin(environments, eq(environments.id, memberships.envId))
    .where(eq(memberships.userId, userId))
    .orderBy(asc(environments.id));
  return rows;
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

/** Creates the environment with its creator as first admin, atomically; "name_taken" on a clash. */
export async function insertEnvironment(
  db: Database,
  input: NewEnvironment,
  now: Date,
): Promise<EnvironmentRow | "name_taken"> {
  const at = now.getTime();
  try {
    const [inserted] = await db.batch([
      db.insert(environments).values({ ...input, createdAt: at, updatedAt: at }).returning(),
      db.run(sql`INSERT INTO memberships (env_id, user_id, role, created_at)
        SELECT id, ${input.ownerId}, 'admin', ${at} FROM environments WHERE name = ${input.name}`),
    ]);
    return inserted[0];
  } catch (error) {
    if (isUniqueViolation(error)) return "name_taken";
    throw error;
  }
}

/** Applies changes; undefined when the environment is gone, "name_taken" on a clash. */
export async function updateEnvironment(
  db: Database,
  envId: number,
  changes: EnvironmentChanges,
  now: Date,
): Promise<EnvironmentRow | "name_taken" | undefined> {
  try {
    const [row] = await db.update(environments)
      .set({ ...changes, updatedAt: now.getTime() })
      .where(eq(environments.id, envId))
      .returning();
    return row;
  } catch (error) {
    if (isUniqueViolation(error)) return "name_taken";
    throw error;
  }
}

/** Deletes the environment with its memberships, captures and snapshots in one batch. */
export async function deleteEnvironment(db: Database, envId: number): Promise<void> {
  // Explicit child deletes: foreign-key cascades depend on a per-connection pragma.
  await db.batch([
    db.delete(captureSnapshotSeries).where(
      sql`${captureSnapshotSeries.captureId} IN (SELECT id FROM captures WHERE env_id = ${envId})`,
    ),
    db.delete(captureSnapshots).where(
      sql`${captureSnapshots.captureId} IN (SELECT id FROM captures WHERE env_id = ${envId})`,
    ),
    db.delete(captures).where(eq(captures.envId, envId)),
    db.delete(memberships).where(eq(memberships.envId, envId)),
    db.delete(environments).where(eq(environments.id, envId)),
  ]);
}
