import {
  and,
  asc,
  eq,
  exists,
  getTableColumns,
  gt,
  inArray,
  isNull,
  ne,
  notExists,
  type SQL,
  sql,
} from "drizzle-orm";
import { alias, QueryBuilder } from "drizzle-orm/sqlite-core";
import { CAPTURE_CHILDREN } from "./captures.ts";
import { insertSelection } from "./insert_select.ts";
import type { Database } from "./client.ts";
import { isUniqueViolation } from "./errors.ts";
import { aliased, plainRows, preparedPerDatabase } from "./prepared.ts";
import { captures, type EnvironmentRow, environments, memberships, type Role } from "./schema.ts";

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
  externalIdIssued?: boolean;
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
    | "externalIdIssued"
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
    .limit(1)
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
export async function findEnvironment(
  db: Database,
  envId: number,
): Promise<EnvironmentRow | undefined> {
  const [row] = await environmentById(db, { envId });
  return row && decodeEnvironment(row);
}

/** An environment row as SQLite stores it: its two boolean columns as 0/1. */
type StoredEnvironment = Omit<EnvironmentRow, "externalIdIssued" | "piEnabled"> & {
  externalIdIssued: number;
  piEnabled: number | null;
};

// Read as plain rows: drizzle's mapping of this one row (copying it through the client row's
// index getters, then checking and decoding each of its 21 columns) was ~15 µs, about 6% of a
// POST, which reads it for the start check of every capture starting now.
const environmentById = plainRows<StoredEnvironment, { envId: number }>((db) =>
  db.select(aliased(getTableColumns(environments))).from(environments)
    .where(eq(environments.id, sql.placeholder("envId")))
    .limit(1)
);

/**
 * drizzle's decoding of a stored environment: the boolean columns (null stays null). Field by
 * field, in the table's column order, not `{ ...row }`: spreading the client's row object (a
 * class with index getters) took ~1.6 µs, a literal ~0.05; a column added to the table fails to
 * compile here until it is listed.
 */
function decodeEnvironment(row: StoredEnvironment): EnvironmentRow {
  return {
    id: row.id,
    name: row.name,
    region: row.region,
    dbInstanceIdentifier: row.dbInstanceIdentifier,
    ownerId: row.ownerId,
    accessKeyId: row.accessKeyId,
    secretCiphertext: row.secretCiphertext,
    roleArn: row.roleArn,
    externalId: row.externalId,
    externalIdIssued: Number(row.externalIdIssued) === 1,
    dbiResourceId: row.dbiResourceId,
    engine: row.engine,
    piEnabled: row.piEnabled === null ? null : Number(row.piEnabled) === 1,
    piRetentionDays: row.piRetentionDays,
    resolutionStatus: row.resolutionStatus,
    resolutionReason: row.resolutionReason,
    resolvedAt: row.resolvedAt,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
    version: row.version,
  };
}

/** Why a create or change wrote nothing, besides a name clash. */
export type EnvironmentRefusal = "name_taken" | "instance_taken" | "quota";

/** Limits checked inside the creating statement, so concurrent creates cannot exceed them. */
export interface EnvironmentLimits {
  /** Environments one user may own; 0: no limit. */
  perOwner: number;
  /** The instance may be bound to no other environment reading it with server credentials. */
  serverInstanceOnce: boolean;
}

/**
 * No other environment (but `exceptId`) reads `region`/`instance` with the server-wide
 * credentials: each instance is bound once per credential source.
 */
function serverInstanceFree(region: string, instance: string, exceptId?: number): SQL {
  const other = alias(environments, "other");
  return notExists(
    new QueryBuilder().select({ one: sql`1` }).from(other).where(and(
      eq(other.region, region),
      eq(other.dbInstanceIdentifier, instance),
      isNull(other.secretCiphertext),
      isNull(other.roleArn),
      exceptId === undefined ? undefined : ne(other.id, exceptId),
    )),
  );
}

/**
 * Creates the environment with its creator as first admin, in one batch whose insert carries the
 * limits in its WHERE; "name_taken" when the creator already owns an environment of that name
 * (names are unique per owner), "instance_taken" or "quota" when it wrote nothing.
 */
export async function insertEnvironment(
  db: Database,
  input: NewEnvironment,
  now: Date,
  limits: EnvironmentLimits = { perOwner: 0, serverInstanceOnce: false },
): Promise<EnvironmentRow | EnvironmentRefusal> {
  const at = now.getTime();
  const conditions: SQL[] = [];
  if (limits.perOwner > 0) conditions.push(sql`${ownedBy(input.ownerId)} < ${limits.perOwner}`);
  if (limits.serverInstanceOnce) {
    conditions.push(serverInstanceFree(input.region, input.dbInstanceIdentifier));
  }
  try {
    const [inserted] = await db.batch([
      db.insert(environments).select(
        db.select(insertSelection(environments, { ...input, createdAt: at, updatedAt: at }))
          .from(sql`(SELECT 1)`).where(and(sql`1`, ...conditions)),
      ).returning(),
      // The new environment's id is known only inside the batch, so the membership selects it;
      // changes() = 1 makes sure the insert above wrote it (a refused one writes nothing).
      db.insert(memberships).select(
        db.select(insertSelection(memberships, {
          envId: environments.id,
          userId: input.ownerId,
          role: "admin",
          createdAt: at,
        })).from(environments).where(and(
          eq(environments.ownerId, input.ownerId),
          eq(environments.name, input.name),
          sql`changes() = 1`,
          eq(environments.id, sql`last_insert_rowid()`),
        )),
      ),
    ]);
    if (inserted[0]) return inserted[0];
  } catch (error) {
    if (isUniqueViolation(error)) return "name_taken";
    throw error;
  }
  // Nothing written: one read says which limit held it back.
  if (limits.perOwner > 0) {
    const [{ owned }] = await db.select({ owned: ownedBy(input.ownerId) }).from(sql`(SELECT 1)`);
    if (owned >= limits.perOwner) return "quota";
  }
  return "instance_taken";
}

const ownedBy = (ownerId: string) =>
  sql<number>`(SELECT count(*) FROM ${environments} WHERE ${environments.ownerId} = ${ownerId})`;

/** Whether changes to an environment must keep its instance bound once for server credentials. */
export interface ServerBinding {
  region: string;
  dbInstanceIdentifier: string;
}

/**
 * What a change of an environment requires, all inside its one statement: the actor is an admin
 * of it, and (for If-Match) its version is one of `versions` ("*" or absent: any).
 */
export interface EnvironmentGuard {
  actorId: string;
  versions?: "*" | number[];
  /**
   * The version the caller read and judged (the instance policy): a change made meanwhile, by any
   * process, makes this write nothing rather than commit on a state nobody judged.
   */
  readVersion?: number;
}

/**
 * The SQL of a guard on the `environments` row: the actor's admin membership is in the WHERE, so
 * a role lost while the request ran cannot slip through (the SQL twin of auth/access.ts
 * canManageEnvironment).
 */
export function guarded(envId: number, guard: EnvironmentGuard): SQL | undefined {
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
    guard.readVersion === undefined ? undefined : eq(environments.version, guard.readVersion),
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
  /** Set when the changed environment reads with server credentials: its instance stays unique. */
  serverBinding?: ServerBinding,
): Promise<EnvironmentRow | "name_taken" | undefined> {
  try {
    const [row] = await db.update(environments)
      .set({ ...changes, updatedAt: now.getTime(), version: sql`${environments.version} + 1` })
      .where(and(
        guarded(envId, guard),
        serverBinding &&
          serverInstanceFree(serverBinding.region, serverBinding.dbInstanceIdentifier, envId),
      ))
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
    ...CAPTURE_CHILDREN.map((child) =>
      db.delete(child).where(and(inArray(child.captureId, capturesOf(envId)), gone))
    ),
    db.delete(captures).where(and(eq(captures.envId, envId), gone)),
    db.delete(memberships).where(and(eq(memberships.envId, envId), gone)),
  ]);
  return deleted.length > 0;
}

const capturesOf = (envId: number) =>
  new QueryBuilder().select({ id: captures.id }).from(captures).where(eq(captures.envId, envId));

/** Replaces a new environment's placeholder secret with its sealed envelope (if still there). */
export async function sealEnvironmentSecret(
  db: Database,
  envId: number,
  placeholder: string,
  envelope: string,
): Promise<void> {
  await db.update(environments).set({ secretCiphertext: envelope })
    .where(and(eq(environments.id, envId), eq(environments.secretCiphertext, placeholder)));
}
