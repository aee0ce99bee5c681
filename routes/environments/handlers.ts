import type { Context } from "hono";
import { canManageEnvironment } from "../../auth/access.ts";
import {
  deleteEnvironment,
  type EnvironmentChanges,
  findEnvironmentForMember,
  insertEnvironment,
  listEnvironmentsForMember,
  updateEnvironment,
} from "../../db/environments.ts";
import { problem } from "../../http/problem.ts";
import type { AppEnv, AppRouteHandler } from "../../http/router.ts";
import { reresolveInstance, resolveInstance } from "../../metrics/resolve_instance.ts";
import { loadDeps } from "../aws_deps.ts";
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
  const sealed = await sealCredentials(c, body.credentials);
  if (sealed instanceof Response) return sealed;
  const row = await insertEnvironment(db, {
    name: body.name,
    region: body.region,
    dbInstanceIdentifier: body.dbInstanceIdentifier,
    ownerId: c.var.userId,
    ...(sealed ?? { accessKeyId: null, secretCiphertext: null }),
    roleArn: body.roleArn ?? null,
    externalId: body.roleArn ? body.externalId ?? null : null,
  }, clock());
  if (row === "name_taken") {
    return problem(c, 409, `An environment named "${body.name}" already exists; pick another name`);
  }
  // After the write: a failed lookup leaves the environment pending and never fails the create.
  const resolved = (await resolveInstance(loadDeps(c.var.deps), row, clock().getTime())).env;
  c.header("Location", `/api/environments/${row.id}`);
  return c.json(presentEnvironment(resolved, "admin", config, serverSource(c)), 201);
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
    const sealed = await sealCredentials(c, body.credentials);
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
  const row = await updateEnvironment(db, id, changes, clock());
  if (row === "name_taken") {
    return problem(c, 409, `An environment named "${body.name}" already exists; pick another name`);
  }
  if (!row) return notFound(c, id);
  const instanceChanged = ["region", "dbInstanceIdentifier", "credentials", "roleArn"]
    .some((field) => (body as Record<string, unknown>)[field] !== undefined);
  const shown = instanceChanged
    ? await reresolveInstance(loadDeps(c.var.deps), row, clock().getTime())
    : row;
  return c.json(presentEnvironment(shown, found.role, config, serverSource(c)), 200);
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

async function sealCredentials(c: Context<AppEnv>, credentials: CredentialsInput | undefined) {
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
    }),
  };
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
