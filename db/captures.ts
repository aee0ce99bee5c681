import {
  and,
  desc,
  eq,
  exists,
  gt,
  inArray,
  isNotNull,
  lt,
  lte,
  notExists,
  or,
  type Placeholder,
  type SQL,
  sql,
} from "drizzle-orm";
import { QueryBuilder } from "drizzle-orm/sqlite-core";
import type { Database } from "./client.ts";
import { isUniqueViolation } from "./errors.ts";
import { insertSelection } from "./insert_select.ts";
import { aliased, plainRows, preparedPerDatabase } from "./prepared.ts";
import {
  type CaptureRow,
  captures,
  captureSnapshots,
  captureSnapshotSeries,
  type CaptureStatus,
  memberships,
} from "./schema.ts";

/** SQL for a capture's status at `now`; mirrors lifecycle/status.ts statusAt(). */
export function effectiveStatusSql(now: number): SQL<CaptureStatus> {
  return sql<CaptureStatus>`(CASE
    WHEN ${captures.status} IN ('DONE', 'FAILED') THEN ${captures.status}
    WHEN ${captures.status} = 'SCHEDULED' AND ${captures.scheduledStart} > ${now} THEN 'SCHEDULED'
    WHEN ${captures.duration} IS NOT NULL
      AND coalesce(${captures.start}, ${captures.scheduledStart}) + ${captures.duration} * 1000 <= ${now}
      THEN 'DONE'
    ELSE 'RUNNING' END)`;
}

const captureForMember = preparedPerDatabase((db) =>
  db.select({ capture: captures, role: memberships.role })
    .from(captures)
    .innerJoin(
      memberships,
      and(eq(memberships.envId, captures.envId), eq(memberships.userId, sql.placeholder("userId"))),
    )
    .where(eq(captures.id, sql.placeholder("id")))
    .prepare()
);

/** A capture's row with the caller's role in its environment, or undefined if not a member. */
export function findCaptureForMember(db: Database, id: number, userId: string) {
  return captureForMember(db).get({ id, userId });
}

/** The stored statuses a capture of each effective status can have (the sweeper may lag). */
const STORED_AS: Record<CaptureStatus, CaptureStatus[]> = {
  SCHEDULED: ["SCHEDULED"],
  RUNNING: ["SCHEDULED", "RUNNING"],
  DONE: ["SCHEDULED", "RUNNING", "DONE"],
  FAILED: ["FAILED"],
};

export interface CaptureFilter {
  userId: string;
  envId?: number;
  name?: string;
  statuses?: CaptureStatus[];
  /** Only captures with a smaller id (keyset pagination, newest first). */
  beforeId?: number;
  limit: number;
  now: number;
}

/**
 * The columns a capture's API shape needs (routes/captures/_present.ts): a list reads these and
 * not the sweeper's snapshot bookkeeping.
 */
const listedColumns = {
  id: captures.id,
  envId: captures.envId,
  ownerId: captures.ownerId,
  name: captures.name,
  status: captures.status,
  scheduledStart: captures.scheduledStart,
  start: captures.start,
  end: captures.end,
  duration: captures.duration,
  reason: captures.reason,
  createdAt: captures.createdAt,
  updatedAt: captures.updatedAt,
};

/** A capture as a list returns it: every field of its API shape, none of the sweeper's. */
export type ListedCapture = Pick<CaptureRow, keyof typeof listedColumns>;

const listedForMember = plainRows<ListedCapture, { id: number; userId: string }>((db) =>
  db.select(aliased(listedColumns)).from(captures)
    .innerJoin(
      memberships,
      and(eq(memberships.envId, captures.envId), eq(memberships.userId, sql.placeholder("userId"))),
    )
    .where(eq(captures.id, sql.placeholder("id")))
);

/** A capture's API fields (as a list gives them), or undefined if the user is not a member. */
export async function findListedCaptureForMember(
  db: Database,
  id: number,
  userId: string,
): Promise<ListedCapture | undefined> {
  const [row] = await listedForMember(db, { id, userId });
  return row;
}

const memberEnvironments = (userId: string | ReturnType<typeof sql.placeholder>) =>
  inArray(
    captures.envId,
    new QueryBuilder().select({ envId: memberships.envId }).from(memberships)
      .where(eq(memberships.userId, userId)),
  );

// Every list runs through plainRows (no per-value mapping); the two shapes nearly every list has
// (no filter; no filter past a cursor) are built once.
const listedSelection = aliased(listedColumns);
const firstPage = plainRows<ListedCapture, { userId: string; limit: number }>((db) =>
  db.select(listedSelection).from(captures)
    .where(memberEnvironments(sql.placeholder("userId")))
    .orderBy(desc(captures.id)).limit(sql.placeholder("limit"))
);
const laterPage = plainRows<ListedCapture, { userId: string; beforeId: number; limit: number }>(
  (db) =>
    db.select(listedSelection).from(captures)
      .where(and(
        memberEnvironments(sql.placeholder("userId")),
        lt(captures.id, sql.placeholder("beforeId")),
      ))
      .orderBy(desc(captures.id)).limit(sql.placeholder("limit")),
);

/** Captures of every environment the user belongs to, newest first, one page plus one. */
export function listCapturesForMember(
  db: Database,
  filter: CaptureFilter,
): Promise<ListedCapture[]> {
  const limit = filter.limit + 1;
  const { userId, beforeId } = filter;
  if (filter.envId === undefined && filter.name === undefined && !filter.statuses?.length) {
    return beforeId === undefined
      ? firstPage(db, { userId, limit })
      : laterPage(db, { userId, beforeId, limit });
  }
  const conditions: SQL[] = [memberEnvironments(userId)];
  if (filter.envId !== undefined) conditions.push(eq(captures.envId, filter.envId));
  if (filter.name !== undefined) conditions.push(eq(captures.name, filter.name));
  if (beforeId !== undefined) conditions.push(lt(captures.id, beforeId));
  if (filter.statuses?.length) {
    const stored = [...new Set(filter.statuses.flatMap((status) => STORED_AS[status]))];
    // The stored status narrows first, through its index, so a rare status (FAILED, or
    // RUNNING among many finished captures) does not scan every capture; the computed status
    // then decides the transitions no sweep has persisted yet.
    conditions.push(inArray(captures.status, stored));
    conditions.push(inArray(effectiveStatusSql(filter.now), filter.statuses));
  }
  return db.select(listedColumns).from(captures).where(and(...conditions))
    .orderBy(desc(captures.id)).limit(limit);
}

export type NewCapture = Omit<
  typeof captures.$inferInsert,
  | "id"
  | "createdAt"
  | "updatedAt"
  | "snapshotAttempts"
  | "snapshotError"
  | "snapshotLeaseOwner"
  | "snapshotLeaseUntil"
>;

/**
 * Inserts a capture if `input.ownerId` is a member of its environment, in one statement (so a
 * membership or environment removed meanwhile cannot let it through); "not_member" otherwise,
 * "name_taken" when the environment already has a capture by that name.
 */
export async function insertCapture(
  db: Database,
  input: NewCapture,
  now: number,
): Promise<CaptureRow | "name_taken" | "not_member"> {
  try {
    const values: Record<string, unknown> = { now };
    for (const key of NEW_CAPTURE_KEYS) values[key] = input[key] ?? null;
    const [row] = await captureInsert(db).all(values);
    return row ?? "not_member";
  } catch (error) {
    if (isUniqueViolation(error)) return "name_taken";
    throw error;
  }
}

/** Every field of NewCapture: a field added there fails to compile until it is listed here. */
const NEW_CAPTURE_KEYS = Object.keys(
  {
    envId: true,
    ownerId: true,
    name: true,
    status: true,
    scheduledStart: true,
    start: true,
    end: true,
    duration: true,
    reason: true,
    snapshotNextAttemptAt: true,
  } satisfies Record<keyof NewCapture, true>,
) as (keyof NewCapture)[];

// Prepared once: building this INSERT … SELECT was a third of a POST's CPU. Each NewCapture
// field is a placeholder (null when not given); other columns take their defaults.
const captureInsert = preparedPerDatabase((db) => {
  const given: Record<string, Placeholder> = {};
  for (const key of NEW_CAPTURE_KEYS) given[key] = sql.placeholder(key);
  return db.insert(captures).select(
    db.select(insertSelection(captures, {
      ...given,
      envId: memberships.envId,
      ownerId: memberships.userId,
      createdAt: sql.placeholder("now"),
      updatedAt: sql.placeholder("now"),
    })).from(memberships).where(and(
      eq(memberships.envId, sql.placeholder("envId")),
      eq(memberships.userId, sql.placeholder("ownerId")),
    )),
  ).returning().prepare();
});

/**
 * The caller may change the capture: an admin of its environment, or its owner while still a
 * member. Part of every change's WHERE, so a role lost mid-request cannot slip through; the SQL
 * twin of auth/access.ts canManageCapture (tests/rule_twins.test.ts holds them equal).
 */
export function manageableBy(userId: string): SQL {
  return exists(
    new QueryBuilder().select({ one: sql`1` }).from(memberships).where(and(
      eq(memberships.envId, captures.envId),
      eq(memberships.userId, userId),
      or(eq(memberships.role, "admin"), eq(captures.ownerId, userId)),
    )),
  );
}

/**
 * Ends a capture that is running at `now`, if `userId` may manage it; undefined when it was not
 * running or not theirs to stop (someone else won, or their role changed).
 */
export async function stopIfRunning(db: Database, id: number, userId: string, now: number) {
  const [row] = await db.update(captures)
    .set({
      status: "DONE",
      start: sql`coalesce(${captures.start}, ${captures.scheduledStart})`,
      end: now,
      updatedAt: now,
    })
    .where(and(
      eq(captures.id, id),
      eq(effectiveStatusSql(now), "RUNNING"),
      manageableBy(userId),
    ))
    .returning();
  return row;
}

export interface CaptureChanges {
  name?: string;
  scheduledStart?: number;
  duration?: number;
}

/**
 * Applies an edit in one conditional statement: scheduledStart only while still SCHEDULED and
 * into the future, duration only while SCHEDULED or RUNNING and ending after `now` (the SQL twin
 * of lifecycle/rules.ts editRefusal). Undefined when the
 * capture no longer qualifies; "name_taken" on a name clash.
 */
export async function updateCaptureIfEditable(
  db: Database,
  id: number,
  userId: string,
  changes: CaptureChanges,
  now: number,
): Promise<CaptureRow | "name_taken" | undefined> {
  const conditions: SQL[] = [eq(captures.id, id), manageableBy(userId)];
  const status = effectiveStatusSql(now);
  if (changes.scheduledStart !== undefined) {
    conditions.push(eq(status, "SCHEDULED"));
    conditions.push(gt(sql`${changes.scheduledStart}`, now));
  }
  if (changes.duration !== undefined) {
    const start = changes.scheduledStart ??
      sql`coalesce(${captures.start}, ${captures.scheduledStart})`;
    conditions.push(inArray(status, ["SCHEDULED", "RUNNING"]));
    conditions.push(sql`${start} + ${changes.duration} * 1000 > ${now}`);
  }
  try {
    const [row] = await db.update(captures)
      .set({ ...changes, updatedAt: now })
      .where(and(...conditions))
      .returning();
    return row;
  } catch (error) {
    if (isUniqueViolation(error)) return "name_taken";
    throw error;
  }
}

/**
 * Deletes a capture `userId` may manage, with its stored metrics; false when it is gone or no
 * longer theirs to delete.
 */
export async function deleteCapture(db: Database, id: number, userId: string): Promise<boolean> {
  const [deleted] = await db.batch([
    db.delete(captures).where(and(eq(captures.id, id), manageableBy(userId)))
      .returning({ id: captures.id }),
    // Explicit, since foreign-key cascades depend on a per-connection pragma.
    db.delete(captureSnapshots).where(and(
      eq(captureSnapshots.captureId, id),
      notExists(captureById(id)),
    )),
    db.delete(captureSnapshotSeries).where(and(
      eq(captureSnapshotSeries.captureId, id),
      notExists(captureById(id)),
    )),
  ]);
  return deleted.length > 0;
}

const captureById = (id: number) =>
  new QueryBuilder().select({ id: captures.id }).from(captures).where(eq(captures.id, id));

/** Persists due transitions with conditional updates; safe to run from many instances at once. */
export async function persistTransitions(db: Database, now: number) {
  const started = await db.update(captures)
    .set({ status: "RUNNING", start: captures.scheduledStart, updatedAt: now })
    .where(and(eq(captures.status, "SCHEDULED"), lte(captures.scheduledStart, now)))
    .returning({ id: captures.id });
  const finished = await db.update(captures)
    .set({
      status: "DONE",
      end: sql`${captures.start} + ${captures.duration} * 1000`,
      updatedAt: now,
    })
    .where(and(
      eq(captures.status, "RUNNING"),
      isNotNull(captures.duration),
      sql`${captures.start} + ${captures.duration} * 1000 <= ${now}`,
    ))
    .returning({ id: captures.id });
  return { started: started.map((r) => r.id), finished: finished.map((r) => r.id) };
}
