import type { Context } from "hono";
import { canManageEnvironment } from "../../auth/access.ts";
import {
  borrowsServerIdentity,
  type CredentialFields,
  isUnrestricted,
  serverBindingRefusal,
  usesServerCredentials,
} from "../../auth/instance_policy.ts";
import {
  deleteEnvironment,
  type EnvironmentChanges,
  findEnvironmentForMember,
  insertEnvironment,
  listEnvironmentsForMember,
  sealEnvironmentSecret,
  updateEnvironment,
} from "../../db/environments.ts";
import { problem } from "../../http/problem.ts";
import type { AppEnv, AppRouteHandler } from "../../http/router.ts";
import { presentEnvironment } from "./_present.ts";
import type * as routes from "./routes.ts";

type CredentialsInput = { accessKeyId: string; secretAccessKey: string; sessionToken?: string };

export const list: AppRouteHandler<typeof routes.list> = async (c) => {
  const { db, config } = c.var.deps;
  const rows = await listEnvironmentsForMember(db, c.var.userId);
  return c.json(
    rows.map(({ env, role }) => presentEnvironment(env, role, config, serverSource(c))),
    200,
  );
};

export const create: AppRouteHandler<typeof routes.create> = async (c) => {
  const { db, config, clock } = c.var.deps;
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
    ownerId: c.var.userId,
    ...(sealed ?? { accessKeyId: null, secretCiphertext: null }),
    roleArn: body.roleArn ?? null,
    externalId: body.roleArn ? body.externalId ?? null : null,
  };
  const refused = bindingRefusal(c, input);
  if (refused) return refused;
  const row = await insertEnvironment(db, input, clock(), {
    perOwner: config.quotas.environmentsPerUser,
    serverInstanceOnce: boundOnce(c, input),
  });
  if (row === "name_taken") {
    return problem(c, 409, `An environment named "${body.name}" already exists; pick another name`);
  }
  if (row === "instance_taken") return instanceTaken(c, input);
  if (row !== "quota" && body.credentials) {
    const envelope = await sealCredentials(c, body.credentials, row.id) as {
      secretCiphertext: string;
    };
    await sealEnvironmentSecret(db, row.id, SEALING_PLACEHOLDER, envelope.secretCiphertext);
  }
  if (row === "quota") {
    return problem(
      c,
      429,
      `You own ${config.quotas.environmentsPerUser} environments, the most this server allows ` +
        "(QUOTA_ENVIRONMENTS_PER_USER); delete one you no longer need",
    );
  }
  c.header("Location", `/api/environments/${row.id}`);
  return c.json(presentEnvironment(row, "admin", config, serverSource(c)), 201);
};

export const get: AppRouteHandler<typeof routes.get> = async (c) => {
  const { db, config } = c.var.deps;
  const { id } = c.req.valid("param");
  const found = await findEnvironmentForMember(db, id, c.var.userId);
  if (!found) return notFound(c, id);
  return c.json(presentEnvironment(found.env, found.role, config, serverSource(c)), 200);
};

export const update: AppRouteHandler<typeof routes.update> = async (c) => {
  const { db, config, clock } = c.var.deps;
  const { id } = c.req.valid("param");
  const body = c.req.valid("json");
  const found = await findEnvironmentForMember(db, id, c.var.userId);
  if (!found) return notFound(c, id);
  if (!canManageEnvironment(found.role)) return forbidden(c, id);

  const changes: EnvironmentChanges = {
    name: body.name,
    region: body.region,
    dbInstanceIdentifier: body.dbInstanceIdentifier,
  };
  if (body.credentials === null) {
    Object.assign(changes, { accessKeyId: null, secretCiphertext: null });
  } else if (body.credentials) {
    const sealed = await sealCredentials(c, body.credentials, id);
    if (sealed instanceof Response) return sealed;
    // Keys replace a role: one environment has one source of credentials.
    Object.assign(changes, sealed, { roleArn: null, externalId: null });
  }
  if (body.roleArn === null) {
    Object.assign(changes, { roleArn: null, externalId: null });
  } else if (body.roleArn) {
    Object.assign(changes, {
      roleArn: body.roleArn,
      externalId: body.externalId ?? null,
      accessKeyId: null,
      secretCiphertext: null,
    });
  }
  const after = { ...found.env, ...definedOnly(changes) };
  const refused = bindingRefusal(c, after);
  if (refused) return refused;
  const row = await updateEnvironment(
    db,
    id,
    changes,
    clock(),
    boundOnce(c, after) ? after : undefined,
  );
  if (row === "name_taken") {
    return problem(c, 409, `An environment named "${body.name}" already exists; pick another name`);
  }
  if (!row) {
    const still = await findEnvironmentForMember(db, id, c.var.userId);
    return still && boundOnce(c, after) ? instanceTaken(c, after) : notFound(c, id);
  }
  return c.json(presentEnvironment(row, found.role, config, serverSource(c)), 200);
};

export const remove: AppRouteHandler<typeof routes.remove> = async (c) => {
  const { db } = c.var.deps;
  const { id } = c.req.valid("param");
  const found = await findEnvironmentForMember(db, id, c.var.userId);
  if (!found) return notFound(c, id);
  if (!canManageEnvironment(found.role)) return forbidden(c, id);
  await deleteEnvironment(db, id);
  return c.body(null, 204);
};

/** What a new environment's secret column holds until it is sealed with the new id. */
const SEALING_PLACEHOLDER = "sealing";

const sealingAvailable = (c: Context<AppEnv>) => c.var.deps.credentialsCipher !== undefined;

async function sealCredentials(
  c: Context<AppEnv>,
  credentials: CredentialsInput | undefined,
  envId: number,
) {
  if (!credentials) return undefined;
  const cipher = c.var.deps.credentialsCipher;
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
    c.var.deps.config.serverCredentialPolicy,
    c.var.userId,
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
  return usesServerCredentials(env) && !isUnrestricted(c.var.deps.config.serverCredentialPolicy);
}

function instanceTaken(c: Context<AppEnv>, env: Binding) {
  // Never names the other environment: it may belong to another team.
  return problem(
    c,
    409,
    `${env.dbInstanceIdentifier} in ${env.region} is already bound to an environment that reads ` +
      "it with the server's credentials; ask to be made a member of that one, or give this " +
      "environment its own credentials or a roleArn with an externalId",
  );
}

/** The changes actually given (PATCH leaves absent fields as they are). */
function definedOnly<T extends object>(changes: T): Partial<T> {
  return Object.fromEntries(Object.entries(changes).filter(([, v]) => v !== undefined)) as Partial<
    T
  >;
}

/** Where server-wide credentials come from, as the process's credential provider sees it. */
function serverSource(c: Context<AppEnv>) {
  return c.var.deps.credentialProvider?.serverSource;
}

function notFound(c: Context<AppEnv>, id: number) {
  return problem(c, 404, `Environment ${id} does not exist or you are not a member of it`);
}

function forbidden(c: Context<AppEnv>, id: number) {
  return problem(c, 403, `Only admins of environment ${id} may change it; ask one of its admins`);
}
