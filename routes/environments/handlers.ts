import type { Context } from "hono";
import {
  borrowsServerIdentity,
  type CredentialFields,
  issueExternalId,
  isUnrestricted,
  serverBindingRefusal,
  usesServerCredentials,
} from "../../auth/instance_policy.ts";
import { type EnvironmentChanges, sealEnvironmentSecret } from "../../db/environments.ts";
import { ifNoneMatchHits, parseETagCondition } from "../../http/etag.ts";
import { answerJson } from "../../http/answer.ts";
import { nextPageLink } from "../../http/link.ts";
import { problem } from "../../http/problem.ts";
import type { AppEnv, AppRouteHandler } from "../../http/router.ts";
import { reresolveInstance, resolveInstance } from "../../metrics/resolve_instance.ts";
import { loadDeps } from "../aws_deps.ts";
import * as operations from "../../operations/environments.ts";
import { refusalProblem } from "../refusal.ts";
import { environmentETag, presentEnvironment } from "./_present.ts";
import type * as routes from "./routes.ts";

type CredentialsInput = { accessKeyId: string; secretAccessKey: string; sessionToken?: string };

export const list: AppRouteHandler<typeof routes.list> = async (c) => {
  const { db, config } = c.get("deps");
  const outcome = await operations.listEnvironments(db, c.get("userId"), c.req.valid("query"));
  if (!outcome.ok) return refusalProblem(c, outcome);
  return answerJson(
    c,
    outcome.page.map(({ env, role }) => presentEnvironment(env, role, config, serverSource(c))),
    200,
    nextPageLink(c, outcome.next),
  );
};

export const create: AppRouteHandler<typeof routes.create> = async (c) => {
  const { db, config, clock } = c.get("deps");
  const body = c.req.valid("json");
  // The envelope binds the environment's id, known only once the row exists: the row is written
  // with a placeholder no key opens, then sealed (a crash between leaves a clear 409, never keys).
  const sealed = body.credentials && sealingAvailable(c)
    ? { accessKeyId: body.credentials.accessKeyId, secretCiphertext: SEALING_PLACEHOLDER }
    : await sealCredentials(c, body.credentials, 0);
  if (sealed instanceof Response) return sealed;
  const input = {
    name: body.name,
    region: body.region,
    dbInstanceIdentifier: body.dbInstanceIdentifier,
    ownerId: c.get("userId"),
    ...(sealed ?? { accessKeyId: null, secretCiphertext: null }),
    roleArn: body.roleArn ?? null,
    ...roleExternalId(body.roleArn, body.externalId),
  };
  const refused = bindingRefusal(c, input);
  if (refused) return refused;
  const outcome = await operations.createEnvironment(db, input, clock(), {
    perOwner: config.quotas.environmentsPerUser,
    serverInstanceOnce: boundOnce(c, input),
  });
  if (!outcome.ok) return refusalProblem(c, outcome);
  if (body.credentials) {
    const envelope = await sealCredentials(c, body.credentials, outcome.env.id) as {
      secretCiphertext: string;
    };
    await sealEnvironmentSecret(db, outcome.env.id, SEALING_PLACEHOLDER, envelope.secretCiphertext);
    outcome.env.secretCiphertext = envelope.secretCiphertext;
  }
  // After the write: a failed lookup leaves the environment pending and never fails the create.
  const env = (await resolveInstance(loadDeps(c.get("deps")), outcome.env, clock().getTime())).env;
  const presented = presentEnvironment(env, "admin", config, serverSource(c));
  c.header("ETag", await environmentETag(env, presented));
  c.header("Location", `/api/environments/${env.id}`);
  return c.json(presented, 201);
};

export const get: AppRouteHandler<typeof routes.get> = async (c) => {
  const { db, config } = c.get("deps");
  const { id } = c.req.valid("param");
  const outcome = await operations.readEnvironment(db, id, c.get("userId"));
  if (!outcome.ok) return refusalProblem(c, outcome);
  const presented = presentEnvironment(outcome.env, outcome.role, config, serverSource(c));
  const etag = await environmentETag(outcome.env, presented);
  c.header("ETag", etag);
  if (ifNoneMatchHits(parseETagCondition(c.req.header("if-none-match")), etag)) {
    return c.body(null, 304);
  }
  return c.json(presented, 200);
};

export const update: AppRouteHandler<typeof routes.update> = async (c) => {
  const { db, config, clock } = c.get("deps");
  const { id } = c.req.valid("param");
  const body = c.req.valid("json");
  // Read first: the instance policy is judged on it, and a role keeps the external id issued.
  const current = await operations.readEnvironment(db, id, c.get("userId"));
  if (!current.ok) return refusalProblem(c, current);
  const changes: EnvironmentChanges = {
    name: body.name,
    region: body.region,
    dbInstanceIdentifier: body.dbInstanceIdentifier,
  };
  const noRole = { roleArn: null, externalId: null, externalIdIssued: false };
  if (body.credentials === null) {
    Object.assign(changes, { accessKeyId: null, secretCiphertext: null });
  } else if (body.credentials) {
    const sealed = await sealCredentials(c, body.credentials, id);
    if (sealed instanceof Response) return sealed;
    // Keys replace a role: one environment has one source of credentials.
    Object.assign(changes, sealed, noRole);
  }
  if (body.roleArn === null) {
    Object.assign(changes, noRole);
  } else if (body.roleArn) {
    Object.assign(changes, {
      roleArn: body.roleArn,
      ...roleExternalId(body.roleArn, body.externalId, current.env),
      accessKeyId: null,
      secretCiphertext: null,
    });
  }
  // The operator's instance policy is judged on the environment as it would be after the change;
  // the write itself is still guarded (admin, If-Match, one binding per instance) in one statement,
  // and, when the change touches what was judged (instance or credentials), by the version read:
  // two changes each fine alone (a new instance; dropping own keys) cannot both commit.
  const after = { ...current.env, ...definedOnly(changes) };
  const refused = bindingRefusal(c, after);
  if (refused) return refused;
  const outcome = await operations.editEnvironment(
    db,
    id,
    c.get("userId"),
    changes,
    parseETagCondition(c.req.header("if-match")),
    clock(),
    boundOnce(c, after) ? after : undefined,
    touchesBinding(body) ? current.env.version : undefined,
  );
  if (!outcome.ok) return refusalProblem(c, outcome);
  // After the write: a new instance, region or credentials are looked up again.
  const env = touchesBinding(body)
    ? await reresolveInstance(loadDeps(c.get("deps")), outcome.env, clock().getTime())
    : outcome.env;
  const presented = presentEnvironment(env, outcome.role, config, serverSource(c));
  c.header("ETag", await environmentETag(env, presented));
  return c.json(presented, 200);
};

export const remove: AppRouteHandler<typeof routes.remove> = async (c) => {
  const { id } = c.req.valid("param");
  const outcome = await operations.removeEnvironment(
    c.get("deps").db,
    id,
    c.get("userId"),
    parseETagCondition(c.req.header("if-match")),
  );
  if (!outcome.ok) return refusalProblem(c, outcome);
  return c.body(null, 204);
};

/** What a new environment's secret column holds until it is sealed with the new id. */
const SEALING_PLACEHOLDER = "sealing";

const sealingAvailable = (c: Context<AppEnv>) => c.get("deps").credentialsCipher !== undefined;

async function sealCredentials(
  c: Context<AppEnv>,
  credentials: CredentialsInput | undefined,
  envId: number,
) {
  if (!credentials) return undefined;
  const cipher = c.get("deps").credentialsCipher;
  if (!cipher) {
    return problem(
      c,
      400,
      "This server cannot store AWS credentials: set CREDENTIALS_KEY (openssl rand -base64 32) and restart, or omit credentials to use the server-wide AWS_* credentials",
      { errors: [{ path: "credentials", message: "CREDENTIALS_KEY is not configured" }] },
    );
  }
  return {
    accessKeyId: credentials.accessKeyId,
    secretCiphertext: await cipher.encrypt({
      secretAccessKey: credentials.secretAccessKey,
      sessionToken: credentials.sessionToken,
    }, envId),
  };
}

type Binding = CredentialFields & { region: string; dbInstanceIdentifier: string };

/** 403 when the environment would read an instance the operator did not open to this user. */
function bindingRefusal(c: Context<AppEnv>, env: Binding) {
  if (!borrowsServerIdentity(env)) return undefined;
  const detail = serverBindingRefusal(
    c.get("deps").config.serverCredentialPolicy,
    c.get("userId"),
    env.region,
    env.dbInstanceIdentifier,
  );
  return detail === undefined ? undefined : problem(c, 403, detail, {
    errors: [{ path: "dbInstanceIdentifier", message: "is not open to server-wide credentials" }],
  });
}

/**
 * Whether the instance must be bound to no other server-credential environment: only once the
 * operator restricts server credentials (open to all, a second binding gains nothing).
 */
function boundOnce(c: Context<AppEnv>, env: Binding): boolean {
  return usesServerCredentials(env) && !isUnrestricted(c.get("deps").config.serverCredentialPolicy);
}

/**
 * A role's external id: the caller's when given (which leaves the environment under the instance
 * allowlist), else the one capwatch issued this environment before, else a new one.
 */
function roleExternalId(
  roleArn: string | null | undefined,
  given: string | null | undefined,
  current?: { externalId: string | null; externalIdIssued: boolean },
): { externalId: string | null; externalIdIssued: boolean } {
  if (!roleArn) return { externalId: null, externalIdIssued: false };
  if (given) return { externalId: given, externalIdIssued: false };
  if (current?.externalIdIssued && current.externalId) {
    return { externalId: current.externalId, externalIdIssued: true };
  }
  return { externalId: issueExternalId(), externalIdIssued: true };
}

/** True when a PATCH changes which instance the environment reads or with which credentials. */
function touchesBinding(body: object): boolean {
  return ["region", "dbInstanceIdentifier", "credentials", "roleArn", "externalId"]
    .some((field) => (body as Record<string, unknown>)[field] !== undefined);
}

/** The changes actually given (PATCH leaves absent fields as they are). */
function definedOnly<T extends object>(changes: T): Partial<T> {
  return Object.fromEntries(Object.entries(changes).filter(([, v]) => v !== undefined)) as Partial<
    T
  >;
}

/** Where server-wide credentials come from, as the process's credential provider sees it. */
function serverSource(c: Context<AppEnv>) {
  return c.get("deps").credentialProvider?.serverSource;
}
