import { strongETag } from "../../http/etag.ts";
import { maskAccessKeyId } from "../../auth/credentials_cipher.ts";
import type { Config } from "../../config.ts";
import type { EnvironmentRow, Role } from "../../db/schema.ts";
import { hex, sha256 } from "../../hex.ts";

/**
 * The API shape of an environment for one member; never includes a secret, and the server-wide
 * access key id (masked), a role's external id and why resolution failed only for admins.
 */
export function presentEnvironment(
  env: EnvironmentRow,
  role: Role,
  config: Config,
  serverSource?: "server" | "web-identity" | "container" | "none",
) {
  const server = serverSource ?? (config.awsCredentials ? "server" : "none");
  const credentials = env.roleArn
    ? {
      source: "role" as const,
      accessKeyId: null,
      roleArn: env.roleArn,
      // For the trust policy: what the role's admins need, and nobody else.
      ...(role === "admin"
        ? { externalId: env.externalId, externalIdIssued: env.externalIdIssued }
        : {}),
    }
    : env.accessKeyId
    ? { source: "environment" as const, accessKeyId: maskAccessKeyId(env.accessKeyId) }
    : server === "server" && config.awsCredentials
    ? {
      source: "server" as const,
      // The server-wide key serves every team: only an environment's admins see its (masked) id.
      accessKeyId: role === "admin" ? maskAccessKeyId(config.awsCredentials.accessKeyId) : null,
    }
    : server === "web-identity" || server === "container"
    ? { source: server, accessKeyId: null }
    : { source: "none" as const, accessKeyId: null };
  return {
    id: env.id,
    name: env.name,
    region: env.region,
    dbInstanceIdentifier: env.dbInstanceIdentifier,
    ownerId: env.ownerId,
    role,
    credentials,
    dbiResourceId: env.dbiResourceId,
    performanceInsights: env.resolutionStatus === "resolved"
      ? { enabled: env.piEnabled ?? false, retentionDays: env.piRetentionDays }
      : null,
    resolution: {
      status: env.resolutionStatus ?? ("pending" as const),
      // AWS error text names the server's principal and account: admins only.
      reason: role === "admin" ? env.resolutionReason : null,
    },
    createdAt: new Date(env.createdAt).toISOString(),
    updatedAt: new Date(env.updatedAt).toISOString(),
  };
}

/**
 * The environment's strong ETag for one caller: its id and version (which a change's If-Match
 * compares inside its statement) and a digest of the caller's `presented` answer, so a 304 is
 * never given for an answer that differs by role or server credentials while the row did not.
 */
export async function environmentETag(env: EnvironmentRow, presented: unknown): Promise<string> {
  const digest = await sha256(JSON.stringify(presented));
  return strongETag("e", env.id, env.version, hex(digest.slice(0, 8)));
}
