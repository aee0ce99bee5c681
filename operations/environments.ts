import { canManageEnvironment } from "../auth/access.ts";
import type { Database } from "../db/client.ts";
import {
  deleteEnvironmentIfAdmin,
  type EnvironmentChanges,
  type EnvironmentForMember,
  type EnvironmentLimits,
  findEnvironmentForMember,
  insertEnvironment,
  listEnvironmentsForMember,
  type NewEnvironment,
  type ServerBinding,
  updateEnvironmentIfAdmin,
} from "../db/environments.ts";
import type { EnvironmentRow } from "../db/schema.ts";
import { type ETagCondition, strongTagParts } from "../http/etag.ts";
import { invalidField } from "../lifecycle/rules.ts";
import { BAD_CURSOR, decodeIdCursor, encodeIdCursor, pageOf } from "./cursor.ts";
import { environmentNotFound, type Outcome, type Refusal } from "./outcome.ts";

// As for captures: each change is one conditional statement that decides (the caller's admin
// membership and the If-Match version are in its WHERE); only when it changed nothing does one
// read say why. Names are unique per owner, so a 409 speaks only of the owner's own environments.

/** A request's parsed If-Match; undefined when it had none. */
export type IfMatch = ETagCondition | undefined;

/**
 * The versions of environment `id` an If-Match names ("*" for any), from tags made by
 * routes/environments/_present.ts environmentETag (`"e.<id>.<version>.<digest>"`); weak and
 * foreign tags name none. Undefined without an If-Match.
 */
function expectedVersions(id: number, ifMatch: IfMatch): "*" | number[] | undefined {
  if (ifMatch === undefined) return undefined;
  const parts = strongTagParts(ifMatch);
  if (parts === "any") return "*";
  return parts.flatMap(([prefix, tagId, version, digest, ...rest]) =>
    prefix === "e" && tagId === String(id) && /^[1-9]\d{0,14}$/.test(version ?? "") &&
      digest !== undefined && rest.length === 0
      ? [Number(version)]
      : []
  );
}

const stale = (id: number): Refusal & { kind: "precondition_failed" } => ({
  ok: false,
  kind: "precondition_failed",
  detail:
    `Environment ${id}'s current version is not one your If-Match names (it changed, or the header names no tag of it); GET it again for its current ETag`,
});

/** 409 for a name its owner already uses; it names no other environment, and to a non-owner not even that the owner uses it. */
function nameTaken(name: string, ownerId: string, userId: string) {
  return {
    ok: false,
    kind: "conflict",
    problemKind: "name-taken",
    // To a co-admin, saying the owner has that name would list the owner's other environments'
    // names one guess at a time; the answer says only that this name cannot be used here.
    detail: ownerId === userId
      ? `You already own an environment named "${name}"; names are unique per owner, pick another`
      : `The name "${name}" cannot be used for this environment; names are unique per owner, pick another`,
  } as const;
}

/** One page (plus one) of the caller's environments, oldest first, with `next` when more follow. */
export async function listEnvironments(
  db: Database,
  userId: string,
  page: { limit: number; cursor?: string },
): Promise<Outcome<{ page: EnvironmentForMember[]; next?: string }, "invalid">> {
  const afterId = page.cursor === undefined ? undefined : decodeIdCursor("e1", page.cursor);
  if (page.cursor !== undefined && afterId === undefined) return invalidField("cursor", BAD_CURSOR);
  const rows = await listEnvironmentsForMember(db, userId, { afterId, limit: page.limit });
  return { ok: true, ...pageOf(rows, page.limit, (last) => encodeIdCursor("e1", last.env.id)) };
}

/** An environment with the caller's role in it; 404 when they are not a member. */
export async function readEnvironment(
  db: Database,
  id: number,
  userId: string,
): Promise<Outcome<EnvironmentForMember, "not_found">> {
  const found = await findEnvironmentForMember(db, id, userId);
  return found ? { ok: true, ...found } : environmentNotFound(id);
}

/** 409 for an instance already read with the server's credentials; never names the other one. */
function instanceTaken(binding: ServerBinding) {
  return {
    ok: false,
    kind: "conflict",
    problemKind: "invalid-state",
    detail: `${binding.dbInstanceIdentifier} in ${binding.region} is already bound to an ` +
      "environment that reads it with the server's credentials; ask to be made a member of that " +
      "one, or give this environment its own credentials or a roleArn",
  } as const;
}

/**
 * Registers an environment owned by `input.ownerId`, who becomes its first admin; the owner's
 * environment quota and (when `limits.serverInstanceOnce`) the one-binding-per-instance rule are
 * checked inside the insert.
 */
export async function createEnvironment(
  db: Database,
  input: NewEnvironment,
  now: Date,
  limits: EnvironmentLimits,
): Promise<Outcome<{ env: EnvironmentRow }, "conflict" | "quota">> {
  const row = await insertEnvironment(db, input, now, limits);
  if (row === "name_taken") return nameTaken(input.name, input.ownerId, input.ownerId);
  if (row === "instance_taken") return instanceTaken(input);
  if (row === "quota") {
    return {
      ok: false,
      kind: "quota",
      detail: `You own ${limits.perOwner} environments, the most this server allows ` +
        "(QUOTA_ENVIRONMENTS_PER_USER); delete one you no longer need",
    };
  }
  return { ok: true, env: row };
}

/** One read after a guarded change found nothing: 404, 403 or 412, else the row as it is now. */
async function explain(
  db: Database,
  id: number,
  userId: string,
  ifMatch: IfMatch,
): Promise<Outcome<{ env: EnvironmentRow }, "not_found" | "forbidden" | "precondition_failed">> {
  const found = await findEnvironmentForMember(db, id, userId);
  if (!found) return environmentNotFound(id);
  const versions = expectedVersions(id, ifMatch);
  if (!canManageEnvironment(found.role)) {
    return {
      ok: false,
      kind: "forbidden",
      detail: `Only admins of environment ${id} may change it; ask one of its admins`,
    };
  }
  if (Array.isArray(versions) && !versions.includes(found.env.version)) return stale(id);
  return { ok: true, env: found.env };
}

/** Applies changes as an admin, if the environment still matches `ifMatch`. */
export async function editEnvironment(
  db: Database,
  id: number,
  userId: string,
  changes: EnvironmentChanges,
  ifMatch: IfMatch,
  now: Date,
  /** Set when the changed environment reads with server credentials: its instance stays unique. */
  serverBinding?: ServerBinding,
  /** The version the caller judged the change on; a change made since makes this one a 409. */
  readVersion?: number,
): Promise<
  Outcome<
    EnvironmentForMember,
    "not_found" | "forbidden" | "precondition_failed" | "conflict"
  >
> {
  const guard = { actorId: userId, versions: expectedVersions(id, ifMatch), readVersion };
  const row = await updateEnvironmentIfAdmin(db, id, guard, changes, now, serverBinding);
  if (row !== undefined && row !== "name_taken") return { ok: true, env: row, role: "admin" };
  const latest = await explain(db, id, userId, ifMatch);
  if (!latest.ok) return latest;
  if (row === "name_taken") return nameTaken(changes.name!, latest.env.ownerId, userId);
  if (readVersion !== undefined && latest.env.version !== readVersion) {
    return {
      ok: false,
      kind: "conflict",
      problemKind: "conflict",
      detail: `Environment ${id} changed meanwhile, after this change was checked against the ` +
        "server's instance policy; read it again and retry",
    };
  }
  if (serverBinding) return instanceTaken(serverBinding);
  return {
    ok: false,
    kind: "conflict",
    problemKind: "conflict",
    detail: `Environment ${id} changed while you were editing it; read it again and retry`,
  };
}

/** Deletes an environment as an admin, if it still matches `ifMatch`, with everything in it. */
export async function removeEnvironment(
  db: Database,
  id: number,
  userId: string,
  ifMatch: IfMatch,
): Promise<Outcome<object, "not_found" | "forbidden" | "precondition_failed" | "conflict">> {
  const guard = { actorId: userId, versions: expectedVersions(id, ifMatch) };
  if (await deleteEnvironmentIfAdmin(db, id, guard)) {
    return { ok: true };
  }
  const latest = await explain(db, id, userId, ifMatch);
  if (!latest.ok) return latest;
  return {
    ok: false,
    kind: "conflict",
    problemKind: "conflict",
    detail: `Environment ${id} changed while you were deleting it; read it again and retry`,
  };
}
