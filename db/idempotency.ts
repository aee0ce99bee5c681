import { and, eq, lte, or, sql } from "drizzle-orm";
import type { Database } from "./client.ts";
import { type IdempotencyKeyRow, idempotencyKeys } from "./schema.ts";

/** Whose key it is and where it was used: a key is one caller's, for one method and path. */
export interface KeyScope {
  callerId: string;
  method: string;
  path: string;
  key: string;
}

/** An answer kept for replay: status, the headers worth replaying, and the body as text. */
export interface StoredAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** What claimKey found: the key is now ours to answer, or someone else's first request holds it. */
export type Claim =
  | { claimed: true }
  | { claimed: false; requestHash: string; answer?: StoredAnswer };

const byScope = (scope: KeyScope) =>
  and(
    eq(idempotencyKeys.callerId, scope.callerId),
    eq(idempotencyKeys.method, scope.method),
    eq(idempotencyKeys.path, scope.path),
    eq(idempotencyKeys.key, scope.key),
  );

/**
 * Claims `scope`'s key for the request hashed `requestHash` with one INSERT, so of concurrent
 * requests with one key exactly one goes ahead (on every instance sharing the database). An
 * expired key is taken over, as is a claim whose holder has not answered by claimUntil (it
 * crashed) when the body is the same. Times in epoch ms.
 */
export async function claimKey(
  db: Database,
  scope: KeyScope,
  claim: { requestHash: string; token: string; now: number; ttlMs: number; claimMs: number },
): Promise<Claim> {
  const fresh = {
    requestHash: claim.requestHash,
    claimToken: claim.token,
    claimUntil: claim.now + claim.claimMs,
    status: null,
    headers: null,
    body: null,
    createdAt: claim.now,
    expiresAt: claim.now + claim.ttlMs,
  };
  const [won] = await db.insert(idempotencyKeys).values({ ...scope, ...fresh })
    .onConflictDoUpdate({
      target: [
        idempotencyKeys.callerId,
        idempotencyKeys.method,
        idempotencyKeys.path,
        idempotencyKeys.key,
      ],
      set: fresh,
      setWhere: or(
        lte(idempotencyKeys.expiresAt, claim.now),
        and(
          sql`${idempotencyKeys.status} IS NULL`,
          lte(idempotencyKeys.claimUntil, claim.now),
          eq(idempotencyKeys.requestHash, claim.requestHash),
        ),
      ),
    })
    .returning({ token: idempotencyKeys.claimToken });
  if (won?.token === claim.token) return { claimed: true };
  const [row] = await db.select().from(idempotencyKeys).where(byScope(scope));
  // Swept between the two statements: report it as in progress, and the retry claims it.
  if (!row) return { claimed: false, requestHash: claim.requestHash };
  return { claimed: false, requestHash: row.requestHash, answer: storedAnswer(row) };
}

function storedAnswer(row: IdempotencyKeyRow): StoredAnswer | undefined {
  if (row.status === null) return undefined;
  return {
    status: row.status,
    headers: JSON.parse(row.headers ?? "{}"),
    body: row.body ?? "",
  };
}

/** Stores the first answer under a key this request claimed (`token`); false if it lost it. */
export async function storeAnswer(
  db: Database,
  scope: KeyScope,
  token: string,
  answer: StoredAnswer,
): Promise<boolean> {
  const rows = await db.update(idempotencyKeys).set({
    status: answer.status,
    headers: JSON.stringify(answer.headers),
    body: answer.body,
    claimToken: null,
    claimUntil: null,
  }).where(and(byScope(scope), eq(idempotencyKeys.claimToken, token)))
    .returning({ key: idempotencyKeys.key });
  return rows.length > 0;
}

/** Gives a claimed key up (the request failed on our side), so a retry runs afresh. */
export async function releaseKey(db: Database, scope: KeyScope, token: string): Promise<void> {
  await db.delete(idempotencyKeys)
    .where(and(byScope(scope), eq(idempotencyKeys.claimToken, token)));
}

/** Deletes the keys expired at `now` (epoch ms); returns how many. */
export async function sweepExpiredKeys(db: Database, now: number): Promise<number> {
  const rows = await db.delete(idempotencyKeys)
    .where(lte(idempotencyKeys.expiresAt, now))
    .returning({ key: idempotencyKeys.key });
  return rows.length;
}
