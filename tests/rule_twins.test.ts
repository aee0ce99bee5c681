import assert from "node:assert/strict";
import { and, eq, sql } from "drizzle-orm";
import fc from "../dev_deps/fast_check.ts";
import { canManageCapture, canManageEnvironment } from "../auth/access.ts";
import { effectiveStatusSql, manageableBy, updateCaptureIfEditable } from "../db/captures.ts";
import { guarded } from "../db/environments.ts";
import { editRefusal } from "../lifecycle/rules.ts";
import { captures, environments, memberships } from "../db/schema.ts";
import { statusAt } from "../lifecycle/status.ts";
import { CAPTURE_STATUSES, ROLES } from "../vocabulary.ts";
import { testContext } from "./helpers/context.ts";

// The status rule and the access rule each live twice, once in TypeScript (answers) and once in
// SQL (list filters, conditional changes); these properties hold the twins to the same decision.

const T0 = Date.parse("2026-01-15T12:00:00Z");
const MIN = 60_000;

/** A time near T0, to the second, or null. */
const maybeTime = fc.option(
  fc.integer({ min: -20_000, max: 20_000 }).map((m) => T0 + m * MIN + (m % 11) * 1000),
  { nil: null },
);

/** A stored capture as the app writes one (sweeper lag included), and a clock near its window. */
const writtenCapture = fc.record({
  kind: fc.constantFrom("SCHEDULED", "RUNNING", "DONE", "FAILED"),
  at: fc.integer({ min: -20_000, max: 20_000 }).map((m) => T0 + m * MIN),
  duration: fc.option(fc.integer({ min: 60, max: 2_592_000 }), { nil: null }),
  endAfter: fc.integer({ min: 0, max: 50_000 }).map((m) => m * MIN),
  startedAsScheduled: fc.boolean(),
}).map(({ kind, at, duration, endAfter, startedAsScheduled }) => {
  const scheduled = startedAsScheduled ? at : null;
  switch (kind) {
    case "SCHEDULED":
      return { status: kind, scheduledStart: at, start: null, end: null, duration };
    case "RUNNING":
      return { status: kind, scheduledStart: scheduled, start: at, end: null, duration };
    case "DONE":
      return { status: kind, scheduledStart: scheduled, start: at, end: at + endAfter, duration };
    default:
      return {
        status: kind,
        scheduledStart: scheduled,
        start: startedAsScheduled ? null : at,
        end: null,
        duration,
      };
  }
});

/**
 * Any row the table can hold (no CHECK ties the columns together): every status with any mix of
 * null and non-null times, e.g. SCHEDULED without scheduledStart, or SCHEDULED with a past start
 * and a future scheduledStart. Half are rows the app writes, so edges stay well covered.
 */
const storedCapture = fc.oneof(
  writtenCapture,
  fc.record({
    status: fc.constantFrom(...CAPTURE_STATUSES),
    scheduledStart: maybeTime,
    start: maybeTime,
    end: maybeTime,
    duration: fc.option(fc.integer({ min: 0, max: 2_592_000 }), { nil: null }),
  }),
);

/** A clock anywhere, or exactly on one of the capture's edges (start, planned end). */
const clockFor = (
  c: { scheduledStart: number | null; start: number | null; duration: number | null },
) => {
  const start = c.start ?? c.scheduledStart ?? T0;
  const edges = [
    start,
    start - 1,
    start + (c.duration ?? 0) * 1000,
    start + (c.duration ?? 0) * 1000 - 1,
  ];
  return fc.oneof(
    fc.constantFrom(...edges),
    fc.integer({ min: -60_000, max: 60_000 }).map((m) => T0 + m * MIN + (m % 7) * 1000),
  );
};

async function fixture() {
  const t = await testContext();
  const [env] = await t.db.insert(environments).values({
    name: "twins",
    region: "us-east-1",
    dbInstanceIdentifier: "db",
    ownerId: "owner",
    createdAt: 0,
    updatedAt: 0,
  }).returning();
  const [row] = await t.db.insert(captures).values({
    envId: env.id,
    ownerId: "owner",
    name: "twin",
    status: "SCHEDULED",
    scheduledStart: T0,
    createdAt: 0,
    updatedAt: 0,
  }).returning();
  return { t, envId: env.id, id: row.id };
}

Deno.test("statusAt() and effectiveStatusSql() give the same status for every stored capture and clock", async () => {
  const { t, id } = await fixture();
  await using _ = t;
  await fc.assert(
    fc.asyncProperty(
      storedCapture.chain((c) => fc.tuple(fc.constant(c), clockFor(c))),
      async ([stored, now]) => {
        await t.db.update(captures).set(stored).where(eq(captures.id, id));
        const [fromSql] = await t.db.select({ status: effectiveStatusSql(now) }).from(captures)
          .where(eq(captures.id, id));
        assert.equal(fromSql.status, statusAt(stored, now).status, JSON.stringify({ stored, now }));
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("canManageCapture() and manageableBy() make the same decision for every role, owner and caller", async () => {
  const { t, envId, id } = await fixture();
  await using _ = t;
  const users = ["ann", "bob", "Ann", "ann "];
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom(...users),
      fc.constantFrom(...users),
      fc.constantFrom(...ROLES, "none" as const),
      fc.option(fc.tuple(fc.constantFrom(...users), fc.constantFrom(...ROLES)), { nil: undefined }),
      async (owner, caller, role, other) => {
        await t.db.delete(memberships).where(eq(memberships.envId, envId));
        if (role !== "none") {
          await t.db.insert(memberships).values({ envId, userId: caller, role, createdAt: 0 });
        }
        // Someone else's membership must not lend the caller their role.
        if (other && other[0] !== caller) {
          await t.db.insert(memberships).values({
            envId,
            userId: other[0],
            role: other[1],
            createdAt: 0,
          });
        }
        await t.db.update(captures).set({ ownerId: owner }).where(eq(captures.id, id));
        const [fromSql] = await t.db.select({ may: manageableBy(caller) }).from(captures)
          .where(and(eq(captures.id, id)));
        const fromTs = role !== "none" && canManageCapture(role, owner, caller);
        assert.equal(Boolean(fromSql.may), fromTs, JSON.stringify({ owner, caller, role, other }));
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("editRefusal() and updateCaptureIfEditable() make the same decision for every stored capture, edit and clock", async () => {
  const { t, envId, id } = await fixture();
  await using _ = t;
  await t.db.insert(memberships).values({ envId, userId: "owner", role: "admin", createdAt: 0 });
  const edit = (now: number) =>
    fc.record({
      scheduledStart: fc.option(
        fc.oneof(
          fc.constantFrom(now, now + 1, now - 1),
          fc.integer({ min: -20_000, max: 20_000 }).map((m) => now + m * MIN),
        ),
        { nil: undefined },
      ),
      duration: fc.option(fc.integer({ min: 0, max: 2_592_000 }), { nil: undefined }),
    }, { requiredKeys: [] });
  await fc.assert(
    fc.asyncProperty(
      storedCapture.chain((c) =>
        fc.tuple(fc.constant(c), clockFor(c)).chain(([c, now]) =>
          fc.tuple(fc.constant(c), fc.constant(now), edit(now))
        )
      ),
      async ([stored, now, changes]) => {
        await t.db.update(captures).set(stored).where(eq(captures.id, id));
        const row = await updateCaptureIfEditable(t.db, id, "owner", changes, now);
        const refusal = editRefusal(id, stored, changes, now);
        assert.equal(
          row !== undefined,
          refusal === undefined,
          JSON.stringify({ stored, now, changes, refusal }),
        );
      },
    ),
    { numRuns: 400 },
  );
});

Deno.test("canManageEnvironment() and guarded() make the same decision for every role and caller", async () => {
  const { t, envId } = await fixture();
  await using _ = t;
  const users = ["ann", "bob", "Ann", "ann "];
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom(...users),
      fc.constantFrom(...ROLES, "none" as const),
      fc.array(fc.tuple(fc.constantFrom(...users), fc.constantFrom(...ROLES)), { maxLength: 3 }),
      async (caller, role, others) => {
        await t.db.delete(memberships).where(eq(memberships.envId, envId));
        if (role !== "none") {
          await t.db.insert(memberships).values({ envId, userId: caller, role, createdAt: 0 });
        }
        // Other members' roles, admins included, must not lend the caller theirs.
        for (const [userId, otherRole] of others) {
          if (userId === caller) continue;
          await t.db.insert(memberships).values({ envId, userId, role: otherRole, createdAt: 0 })
            .onConflictDoNothing();
        }
        const [fromSql] = await t.db.select({ may: sql<number>`count(*)` }).from(environments)
          .where(guarded(envId, { actorId: caller }));
        const fromTs = role !== "none" && canManageEnvironment(role);
        assert.equal(fromSql.may === 1, fromTs, JSON.stringify({ caller, role, others }));
      },
    ),
    { numRuns: 300 },
  );
});
