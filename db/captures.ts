import type { InValue, ResultSet } from "@libsql/client";
import {
  and,
  desc,
  eq,
  exists,
  gt,
  inArray,
  isNotNull,
  isNull,
  lt,
  lte,
  ne,
  notExists,
  or,
  type Placeholder,
  type SQL,
  sql,
  type SQLWrapper,
} from "drizzle-orm";
import { alias, QueryBuilder } from "drizzle-orm/sqlite-core";
import type { Database } from "./client.ts";
import { isUniqueViolation } from "./errors.ts";
import { insertedRow, insertSelection } from "./insert_select.ts";
import { aliased, plainRows, plainWrite, preparedPerDatabase } from "./prepared.ts";
import {
  captureLoadGroups,
  captureLoadSnapshots,
  type CaptureRow,
  captures,
  captureSnapshots,
  captureSnapshotSeries,
  type CaptureStatus,
  environmentCaptureCounts,
  memberships,
} from "./schema.ts";

/** SQL for a capture's status at `now`; mirrors lifecycle/status.ts statusAt(). */
export function effectiveStatusSql(now: number | Placeholder): SQL<CaptureStatus> {
  return sql<CaptureStatus>`(CASE
    WHEN ${captures.status} IN ('DONE', 'FAILED') THEN ${captures.status}
    WHEN ${captures.status} = 'SCHEDULED'
      AND coalesce(coalesce(${captures.start}, ${captures.scheduledStart}) > ${now}, 1)
      THEN 'SCHEDULED'
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
    .limit(1)
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
  // Not shown, but the ETag (operations/captures.ts captureETag) carries it.
  version: captures.version,
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
    .limit(1)
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
  | "instanceCheckedAt"
  | "version"
>;

/** Per-environment limits checked inside the inserting statement; 0 means no limit. */
export interface CaptureLimits {
  perEnvironment: number;
  /**
   * Captures of one environment that may run at once: a new or edited capture may overlap at most
   * this many others from now on (see overlappingLive).
   */
  runningPerEnvironment: number;
}

/**
 * Inserts a capture if `input.ownerId` is a member of its environment and the environment is
 * within `limits`, in one statement (so a membership removed, or captures created meanwhile,
 * cannot let it through); "not_member", "quota_captures" or "quota_running" otherwise,
 * "name_taken" when the environment already has a capture by that name.
 */
export async function insertCapture(
  db: Database,
  input: NewCapture,
  now: number,
  limits: CaptureLimits = { perEnvironment: 0, runningPerEnvironment: 0 },
): Promise<CaptureRow | "name_taken" | "not_member" | "quota_captures" | "quota_running"> {
  try {
    const values: Record<string, InValue> = {
      now,
      ...limitValues(limits),
      windowStart: windowStart(input, now),
    };
    for (const key of NEW_CAPTURE_KEYS) values[key] = input[key] ?? null;
    const written = await captureInsert(quotaShape(input, limits, now))(db, values);
    if (written.rowsAffected > 0) return await insertedCapture(db, input, values, written);
  } catch (error) {
    if (isUniqueViolation(error)) return "name_taken";
    throw error;
  }
  // Nothing written: one read says which condition held it back.
  for (const { kind, holds } of quotaConditions(input, now, limits)) {
    const [check] = await db.select({ holds: sql<number>`${holds}` }).from(sql`(SELECT 1)`);
    if (!check.holds) return kind;
  }
  return "not_member";
}

/** Which quota terms an insert carries: the prepared INSERT … SELECT has one shape per pair. */
interface QuotaShape {
  perEnvironment: boolean;
  running: boolean;
}

/** Where the capture's window starts (epoch ms): its start, else its scheduled start, else now. */
const windowStart = (input: NewCapture, now: number) => input.start ?? input.scheduledStart ?? now;

const quotaShape = (input: NewCapture, limits: CaptureLimits, now: number): QuotaShape => {
  const start = windowStart(input, now);
  const live = input.duration == null || start + input.duration * 1000 > now;
  return {
    perEnvironment: limits.perEnvironment > 0,
    running: limits.runningPerEnvironment > 0 && live,
  };
};

const limitValues = (limits: CaptureLimits) => ({
  perEnvironment: limits.perEnvironment,
  runningPerEnvironment: limits.runningPerEnvironment,
});

/**
 * The quota terms of an insert of `shape`: with values (for the read that explains a refusal) or
 * with placeholders named envId, now, perEnvironment and runningPerEnvironment (prepared).
 */
function quotaTerms(
  shape: QuotaShape,
  values: {
    envId: number | Placeholder;
    now: number | Placeholder;
    perEnvironment: number | Placeholder;
    runningPerEnvironment: number | Placeholder;
    /** The new capture's window: its start (epoch ms) and duration (s; null: open-ended). */
    start: number | Placeholder;
    duration: number | null | Placeholder;
  },
) {
  const conditions: { kind: "quota_captures" | "quota_running"; holds: SQL }[] = [];
  if (shape.perEnvironment) {
    conditions.push({
      kind: "quota_captures",
      // The stored count settles it below the limit; at or past it the rows are counted (at most
      // limit of them), so a stored count left too high (a DBA's REPLACE deletes a row without
      // firing the delete trigger) never refuses a capture that fits.
      holds: sql`(CASE WHEN ${storedCount(values.envId, "captures")} < ${values.perEnvironment}
        THEN 1 ELSE ${
        environmentCaptures(values.envId, values.perEnvironment)
      } < ${values.perEnvironment} END)`,
    });
  }
  if (shape.running) {
    // Status follows from time, so a scheduled capture will run too: its whole window counts.
    conditions.push({
      kind: "quota_running",
      holds: withinRunningLimit(
        values.envId,
        values.runningPerEnvironment,
        (limit) => overlappingLive(values.envId, values.start, values.duration, values.now, limit),
      ),
    });
  }
  return conditions;
}

function quotaConditions(input: NewCapture, now: number, limits: CaptureLimits) {
  return quotaTerms(quotaShape(input, limits, now), {
    envId: input.envId,
    now,
    ...limitValues(limits),
    start: windowStart(input, now),
    duration: input.duration ?? null,
  });
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

// Prepared once per quota shape: building this INSERT … SELECT was a third of a POST's CPU. Each
// NewCapture field is a placeholder (null when not given); other columns take their defaults.
// The quota terms sit in the WHERE as in quotaTerms, their numbers as placeholders. It runs
// straight on the client and has no RETURNING: the row it stored is known from what it bound
// (insertedCapture), and reading a returned row back through libsql was ~15 µs of each POST.
const captureInserts = new Map<
  string,
  (db: Database, values: Record<string, InValue>) => Promise<ResultSet>
>();

function captureInsert(shape: QuotaShape) {
  const key = `${shape.perEnvironment}:${shape.running}`;
  let prepared = captureInserts.get(key);
  if (prepared === undefined) {
    prepared = plainWrite<Record<string, InValue>>((db) => buildCaptureInsert(db, shape));
    captureInserts.set(key, prepared);
  }
  return prepared;
}

/**
 * The capture an insert stored: what it bound (`values`: the NewCapture fields, `now` as
 * createdAt and updatedAt; envId and ownerId are the membership's, which the WHERE made equal to
 * these), the table's defaults, and the id SQLite gave it. A client that does not say which id
 * (a remote one might not) reads the row back by its unique (envId, name).
 */
async function insertedCapture(
  db: Database,
  input: NewCapture,
  values: Record<string, InValue>,
  written: ResultSet,
): Promise<CaptureRow> {
  if (written.lastInsertRowid === undefined) {
    const [row] = await db.select().from(captures)
      .where(and(eq(captures.envId, input.envId), eq(captures.name, input.name)));
    return row;
  }
  return insertedRow(
    captures,
    { ...values, createdAt: values.now, updatedAt: values.now },
    Number(written.lastInsertRowid),
  );
}

function buildCaptureInsert(db: Database, shape: QuotaShape) {
  const given: Record<string, Placeholder> = {};
  for (const key of NEW_CAPTURE_KEYS) given[key] = sql.placeholder(key);
  const quotas = quotaTerms(shape, {
    envId: sql.placeholder("envId"),
    now: sql.placeholder("now"),
    perEnvironment: sql.placeholder("perEnvironment"),
    runningPerEnvironment: sql.placeholder("runningPerEnvironment"),
    start: sql.placeholder("windowStart"),
    duration: sql.placeholder("duration"),
  });
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
      ...quotas.map((q) => q.holds),
    )),
  );
}

/**
 * SQL: environment `envId`'s count of `which` (all its captures, or its unfinished ones) as the
 * triggers of migration 0013 keep it in environment_capture_counts; 0 when it has no row.
 */
function storedCount(envId: number | SQLWrapper, which: "captures" | "live"): SQL<number> {
  const column = environmentCaptureCounts[which];
  return sql<number>`coalesce((${
    new QueryBuilder().select({ n: column }).from(environmentCaptureCounts)
      .where(eq(environmentCaptureCounts.envId, envId))
  }), 0)`;
}

/** SQL: environment `envId`'s captures counted from its rows, stopping at `atMost`. */
function environmentCaptures(envId: number | SQLWrapper, atMost: number | SQLWrapper): SQL<number> {
  return sql<number>`(SELECT count(*) FROM (SELECT 1 FROM ${captures} WHERE ${
    eq(captures.envId, envId)
  } LIMIT ${atMost}))`;
}

/**
 * SQL: fewer than `limit` unfinished captures of `envId` overlap the window `overlapping(limit)`
 * counts (stopping at `limit`). Fewer than `limit` unfinished captures at all settles it from the
 * stored count without counting; only an environment holding `limit` or more live captures counts
 * overlaps, and then at most `limit` of them. CASE, not OR: SQLite evaluates only the branch taken.
 */
function withinRunningLimit(
  envId: number | SQLWrapper,
  limit: number | SQLWrapper,
  overlapping: (limit: number | SQLWrapper) => SQL<number>,
): SQL {
  return sql`(CASE WHEN ${storedCount(envId, "live")} < ${limit} THEN 1 ELSE ${
    overlapping(limit)
  } < ${limit} END)`;
}

/**
 * SQL counting the other captures of `envId` (but `exceptId`) that run at some time within the
 * window from `start` (epoch ms) for `duration` s (null: open-ended), counted from `now` on: their
 * windows, open-ended ones reaching to infinity, intersect it. Finished (DONE, FAILED) ones never
 * do. Counting stops at `atMost`: the count is min(count, atMost).
 */
function overlappingLive(
  envId: number | SQLWrapper,
  start: number | SQLWrapper,
  duration: number | SQLWrapper | null,
  now: number | SQLWrapper,
  atMost: number | SQLWrapper,
  exceptId?: number | SQLWrapper,
): SQL<number> {
  const other = alias(captures, "other");
  const otherStart = sql`coalesce(${other.start}, ${other.scheduledStart})`;
  const matching = and(
    eq(other.envId, envId),
    exceptId === undefined ? undefined : ne(other.id, exceptId),
    // Literal, not bound: only then may SQLite use the partial index captures_live_windows_by_env.
    sql`${other.status} NOT IN ('DONE', 'FAILED')`,
    sql`(${duration} IS NULL OR ${otherStart} < ${start} + ${duration} * 1000)`,
    sql`(${other.duration} IS NULL OR ${otherStart} + ${other.duration} * 1000 > max(${start}, ${now}))`,
  );
  return sql<number>`(SELECT count(*) FROM (SELECT 1 FROM ${captures} AS ${
    sql.identifier("other")
  } WHERE ${matching} LIMIT ${atMost}))`;
}

/** SQL: the capture's window, as `changes` would leave it, overlaps fewer than `limit` others. */
function windowWithinRunningLimit(changes: CaptureChanges, now: number, limit: number): SQL {
  const start = changes.scheduledStart ??
    sql`coalesce(${captures.start}, ${captures.scheduledStart})`;
  const duration = changes.duration ?? sql`${captures.duration}`;
  return withinRunningLimit(
    captures.envId,
    limit,
    (atMost) => overlappingLive(captures.envId, start, duration, now, atMost, captures.id),
  );
}

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
 * The versions a change may apply to, from If-Match: (version, status at `now`) pairs, which
 * together decide the capture's representation and so its ETag; "any" for `*`. An empty list
 * matches nothing.
 */
export type ExpectedVersions = "any" | Array<{ version: number; status: CaptureStatus }>;

/** The WHERE term holding a capture to `expected` at `now`; undefined when anything goes. */
function expectedSql(expected: ExpectedVersions | undefined, now: number): SQL | undefined {
  if (expected === undefined || expected === "any") return undefined;
  if (expected.length === 0) return sql`0`;
  return or(
    ...expected.map((e) =>
      and(eq(captures.version, e.version), eq(effectiveStatusSql(now), e.status))
    ),
  );
}

/** Every change a client can see moves the version, so an ETag read before it no longer matches. */
const nextVersion = sql`${captures.version} + 1`;

/**
 * Ends a capture that is running at `now`, if `userId` may manage it and it is still one of
 * `expected` (If-Match); undefined when it was not running, not theirs to stop (someone else
 * won, or their role changed) or changed since.
 */
export async function stopIfRunning(
  db: Database,
  id: number,
  userId: string,
  now: number,
  expected?: ExpectedVersions,
) {
  const [row] = await db.update(captures)
    .set({
      status: "DONE",
      start: sql`coalesce(${captures.start}, ${captures.scheduledStart})`,
      end: now,
      updatedAt: now,
      version: nextVersion,
    })
    .where(and(
      eq(captures.id, id),
      eq(effectiveStatusSql(now), "RUNNING"),
      manageableBy(userId),
      expectedSql(expected, now),
    ))
    .returning();
  return row;
}

/** The fields an edit (PUT/PATCH) may change, typed from their columns: the one list of them. */
export type CaptureChanges = {
  [K in "name" | "scheduledStart" | "duration"]?: NonNullable<CaptureRow[K]>;
};

/**
 * Applies an edit in one conditional statement: scheduledStart only while still SCHEDULED and
 * into the future, duration only while SCHEDULED or RUNNING and ending after `now` (the SQL twin
 * of lifecycle/rules.ts editRefusal), and only to one of `expected` (If-Match). Undefined when
 * the capture no longer qualifies; "name_taken" on a name clash.
 */
export async function updateCaptureIfEditable(
  db: Database,
  id: number,
  userId: string,
  changes: CaptureChanges,
  now: number,
  expected?: ExpectedVersions,
  /** QUOTA_RUNNING_CAPTURES_PER_ENVIRONMENT, checked when the window moves; 0: no limit. */
  runningLimit = 0,
): Promise<CaptureRow | "name_taken" | undefined> {
  const conditions: SQL[] = [eq(captures.id, id), manageableBy(userId)];
  const windowMoves = changes.scheduledStart !== undefined || changes.duration !== undefined;
  if (runningLimit > 0 && windowMoves) {
    conditions.push(windowWithinRunningLimit(changes, now, runningLimit));
  }
  const precondition = expectedSql(expected, now);
  if (precondition) conditions.push(precondition);
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
      .set({ ...changes, updatedAt: now, version: nextVersion })
      .where(and(...conditions))
      .returning();
    return row;
  } catch (error) {
    if (isUniqueViolation(error)) return "name_taken";
    throw error;
  }
}

/** Whether the edit would leave capture `id` overlapping `limit` or more others (the quota). */
export async function editExceedsRunningLimit(
  db: Database,
  id: number,
  changes: CaptureChanges,
  now: number,
  limit: number,
): Promise<boolean> {
  const [row] = await db.select({
    fits: sql<number>`${windowWithinRunningLimit(changes, now, limit)}`,
  })
    .from(captures).where(eq(captures.id, id));
  return row !== undefined && !row.fits;
}

/**
 * Deletes a capture `userId` may manage, with its stored metrics, if it is still one of
 * `expected` at `now` (If-Match); false when it is gone, changed or no longer theirs to delete.
 */
export async function deleteCapture(
  db: Database,
  id: number,
  userId: string,
  precondition?: { expected: ExpectedVersions; now: number },
): Promise<boolean> {
  const [deleted] = await db.batch([
    db.delete(captures).where(and(
      eq(captures.id, id),
      manageableBy(userId),
      precondition && expectedSql(precondition.expected, precondition.now),
    ))
      .returning({ id: captures.id }),
    // Explicit, since foreign-key cascades depend on a per-connection pragma.
    ...CAPTURE_CHILDREN.map((child) =>
      db.delete(child).where(and(eq(child.captureId, id), notExists(captureById(id))))
    ),
  ]);
  return deleted.length > 0;
}

/** Tables whose rows belong to one capture, deleted with it (and with its environment). */
export const CAPTURE_CHILDREN = [
  captureSnapshots,
  captureSnapshotSeries,
  captureLoadSnapshots,
  captureLoadGroups,
] as const;

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

/**
 * Marks a capture that has not ended FAILED with `reason` (ends it at `now`, keeps its start);
 * one conditional update, so a DONE or already FAILED capture is left as it is.
 */
export async function failCapture(
  db: Database,
  id: number,
  reason: string,
  now: number,
): Promise<CaptureRow | undefined> {
  const [row] = await db.update(captures).set({
    status: "FAILED",
    reason,
    end: sql`CASE WHEN ${captures.start} IS NULL THEN NULL ELSE ${now} END`,
    instanceCheckedAt: now,
    updatedAt: now,
  }).where(and(eq(captures.id, id), inArray(captures.status, ["SCHEDULED", "RUNNING"])))
    .returning();
  return row;
}

/** Notes that RDS confirmed the capture's instance at `now` (ms). */
export async function markInstanceChecked(db: Database, id: number, now: number): Promise<void> {
  await db.update(captures).set({ instanceCheckedAt: now }).where(eq(captures.id, id));
}

/** Captures RUNNING at `now` whose instance RDS has not confirmed yet, oldest first. */
export function capturesAwaitingInstanceCheck(db: Database, now: number, limit: number) {
  return db.select().from(captures).where(and(
    isNull(captures.instanceCheckedAt),
    eq(effectiveStatusSql(now), "RUNNING"),
  )).orderBy(captures.id).limit(limit);
}
