/**
 * Whose RDS instances an environment may read with the server's own AWS identity (issue 17): the
 * confused-deputy defence. An environment with its own keys, or a role with an external id that
 * capwatch generated (the defence assumes the service, not the caller, picks it), brings its own
 * authority and is not limited; one that borrows the server's (no keys, or a role without an
 * issued external id, which STS assumes with the server's credentials on anyone's word) may bind
 * only what the operator allowed in AWS_INSTANCE_ALLOWLIST / AWS_SERVER_CREDENTIAL_USERS.
 */
import type { ServerCredentialPolicy } from "../config.ts";
import { hex } from "../hex.ts";

/** The credential fields of an environment, as stored. */
export interface CredentialFields {
  secretCiphertext: string | null;
  roleArn: string | null;
  externalId: string | null;
  /** True when capwatch generated externalId rather than the caller choosing it. */
  externalIdIssued: boolean;
}

/** True when reading the environment's metrics uses the server's identity in the end. */
export function borrowsServerIdentity(env: CredentialFields): boolean {
  if (env.secretCiphertext) return false;
  return !env.roleArn || !env.externalId || !env.externalIdIssued;
}

/** A new external id for a role's trust policy (sts:ExternalId): 128 random bits. */
export function issueExternalId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return `capwatch-${hex(bytes)}`;
}

/** True when the environment reads with the server-wide credentials themselves (no role). */
export function usesServerCredentials(env: CredentialFields): boolean {
  return !env.secretCiphertext && !env.roleArn;
}

/** True when the operator set neither variable: every user may bind every instance. */
export function isUnrestricted(policy: ServerCredentialPolicy): boolean {
  return policy.instances.length === 0 && policy.users.length === 0;
}

/**
 * True when the server's credentials reach every instance for every user: neither variable set,
 * or an allowlist entry matching any instance (`*`, or an RDS ARN whose region and name are `*`).
 */
export function opensEveryInstance(policy: ServerCredentialPolicy): boolean {
  return isUnrestricted(policy) || policy.instances.some((pattern) => {
    const arn = /^arn:([^:]+):rds:([^:]+):([^:]+):db:(.+)$/.exec(pattern);
    const all = (part: string) => /^\*+$/.test(part);
    // One account's credentials reach one partition: its region and name decide.
    return arn ? all(arn[2]) && all(arn[4]) : all(pattern);
  });
}

/** The partition an AWS region belongs to, for matching ARN patterns. */
function partitionOf(region: string): string {
  if (region.startsWith("cn-")) return "aws-cn";
  if (region.startsWith("us-gov-")) return "aws-us-gov";
  return "aws";
}

function glob(pattern: string): RegExp {
  const body = pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replaceAll("*", ".*")
    .replaceAll("?", ".");
  return new RegExp(`^${body}$`);
}

/**
 * True when `pattern` (an identifier glob, or `arn:<partition>:rds:<region>:<account>:db:<name>`
 * with globs; the account is not checked: server-wide credentials reach one account) allows the
 * instance. Identifiers compare case-insensitively, as RDS stores them in lower case.
 */
export function instanceMatches(pattern: string, region: string, instance: string): boolean {
  const arn = /^arn:([^:]+):rds:([^:]+):([^:]+):db:(.+)$/.exec(pattern);
  const name = instance.toLowerCase();
  if (!arn) return glob(pattern.toLowerCase()).test(name);
  return glob(arn[1]).test(partitionOf(region)) && glob(arn[2]).test(region) &&
    glob(arn[4].toLowerCase()).test(name);
}

/**
 * Why `userId` may not bind the instance with the server's identity, or undefined when allowed:
 * a listed user may bind any instance, anyone may bind a listed instance.
 */
export function serverBindingRefusal(
  policy: ServerCredentialPolicy,
  userId: string,
  region: string,
  instance: string,
): string | undefined {
  if (isUnrestricted(policy)) return undefined;
  if (policy.users.includes(userId)) return undefined;
  if (policy.instances.some((pattern) => instanceMatches(pattern, region, instance))) {
    return undefined;
  }
  return `The server's own AWS credentials may read only the RDS instances its operator allowed, ` +
    `and ${instance} in ${region} is not one of them: give the environment its own credentials, ` +
    `or a roleArn without externalId (capwatch issues one for its trust policy), or ask the operator to add it to AWS_INSTANCE_ALLOWLIST ` +
    `(or you to AWS_SERVER_CREDENTIAL_USERS)`;
}
