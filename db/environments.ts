import { and, asc, eq, inArray, sql } from "drizzle-orm";
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
export function findEnvironment(db: Database, envId: number) {
  return environmentById(db).get({ envId });
}

const environmentById = preparedPerDatabase((db) =>
  db.select().from(environments).where(eq(environments.id, sql.placeholder("envId"))).prepare()
);

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
      // The new environment's id is known only inside the batch, so the membership selects it.
      db.insert(memberships).select(
        db.select(insertSelection(memberships, {
          envId: environments.id,
          userId: input.ownerId,
          role: "admin",
          createdAt: at,
        })).from(environments).where(eq(environments.name, input.name)),
      ),
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
      inArray(captureSnapshotSeries.captureId, capturesOf(envId)),
    ),
    db.delete(captureSnapshots).where(inArray(captureSnapshots.captureId, capturesOf(envId))),
    db.delete(captures).where(eq(captures.envId, envId)),
    db.delete(memberships).where(eq(memberships.envId, envId)),
    db.delete(environments).where(eq(environments.id, envId)),
  ]);
}

const capturesOf = (envId: number) =>
  new QueryBuilder().select({ id: captures.id }).from(captures).where(eq(captures.envId, envId));
