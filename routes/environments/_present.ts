import { maskAccessKeyId } from "../../auth/credentials_cipher.ts";
import type { Config } from "../../config.ts";
import type { EnvironmentRow, Role } from "../../db/schema.ts";

/** The API shape of an environment for one member; never includes a secret. */
export function presentEnvironment(
  env: EnvironmentRow,
  role: Role,
  config: Config,
  serverSource?: "server" | "web-identity" | "container" | "none",
) {
  const server = serverSource ?? (config.awsCredentials ? "server" : "none");
  const credentials = env.roleArn
    ? { source: "role" as const, accessKeyId: null, roleArn: env.roleArn }
    : env.accessKeyId
    ? { source: "environment" as const, accessKeyId: maskAccessKeyId(env.accessKeyId) }
    : server === "server" && config.awsCredentials
    ? { source: "server" as const, accessKeyId: maskAccessKeyId(config.awsCredentials.accessKeyId) }
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
      reason: env.resolutionReason,
    },
    createdAt: new Date(env.createdAt).toISOString(),
    updatedAt: new Date(env.updatedAt).toISOString(),
  };
}
