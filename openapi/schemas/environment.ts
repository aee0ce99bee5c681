import { z } from "@hono/zod-openapi";
import { EXTERNAL_ID_PATTERN, ROLE_ARN_PATTERN, roleArnPartition } from "../../config_aws.ts";
import { partitionOf, regionProblem } from "../../metrics/partitions.ts";
import { displayName, pathInteger, Timestamp, UserId } from "./common.ts";
import { RESOLUTION_STATUSES, ROLES } from "../../vocabulary.ts";

// One check for create and PATCH: a region no AWS partition serves would fail every read later.
const region = z.string().superRefine((value, ctx) => {
  const problem = regionProblem(value);
  if (problem) ctx.addIssue({ code: "custom", message: problem });
}).openapi({
  example: "us-east-1",
  description:
    "An AWS region of a known partition (aws, aws-cn, aws-us-gov, aws-iso*, aws-eusc); its " +
    "endpoints use that partition's DNS suffix, e.g. cn-north-1 → amazonaws.com.cn",
});

// RDS rules: 1–63 letters, digits or hyphens; starts with a letter; no "--"; no trailing "-".
// Case-insensitive in RDS (stored lower case), so lower-cased here: one instance, one string, for
// the allowlist and for binding an instance once per credential source.
const dbInstanceIdentifier = z.string().regex(
  /^[A-Za-z](?!.*--)[A-Za-z0-9-]{0,62}(?<!-)$/,
  "must be an RDS DB instance identifier (1–63 letters, digits or hyphens, starting with a letter)",
).toLowerCase().openapi({
  example: "prod-mysql-1",
  description: "Case-insensitive, as in RDS: stored and shown in lower case",
});

const CredentialsInput = z.object({
  accessKeyId: z.string().regex(/^[A-Z0-9]{16,128}$/, "must be an AWS access key id").openapi({
    example: "AKIAIOSFODNN7EXAMPLE",
  }),
  secretAccessKey: z.string().min(16).max(256).openapi({
    example: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
  }),
  sessionToken: z.string().min(1).max(4096).optional().openapi({
    description: "For temporary credentials only",
    example: "IQoJb3JpZ2luX2VjEXAMPLE",
  }),
}).strict().openapi("CredentialsInput", {
  description: "AWS credentials for this environment; stored encrypted, never returned",
});

const roleArn = z.string().max(2048).regex(
  ROLE_ARN_PATTERN,
  "must be an IAM role ARN: arn:aws:iam::<12-digit account>:role/<path/name>",
).openapi({
  example: "arn:aws:iam::123456789012:role/capwatch-read",
  description: "An IAM role capwatch assumes with STS (using the server's AWS credentials) to " +
    "read CloudWatch; replaces stored credentials",
});

const externalId = z.string().regex(
  EXTERNAL_ID_PATTERN,
  "must be 2–1224 characters of letters, digits and +=,.@:/-_",
).openapi({
  example: "capwatch-7f3a",
  description: "An ExternalId of your choosing for the role's trust policy; send with roleArn. " +
    "Omit it and capwatch issues one (shown to admins): only an issued one exempts the " +
    "environment from the operator's AWS_INSTANCE_ALLOWLIST, as the confused-deputy defence " +
    "needs the service, not the caller, to pick it",
});

export const Credentials = z.object({
  source: z.enum(["environment", "role", "server", "web-identity", "container", "none"]).openapi({
    description:
      "Where CloudWatch credentials come from: this environment's own keys, its role (assumed " +
      "with STS), the server-wide AWS_* keys, the server's web identity (AWS_ROLE_ARN + " +
      "AWS_WEB_IDENTITY_TOKEN_FILE), the container credential endpoint, or nowhere",
  }),
  accessKeyId: z.string().nullable().openapi({ example: "AKIA…MPLE", description: "Masked" }),
  roleArn: z.string().optional().openapi({
    example: "arn:aws:iam::123456789012:role/capwatch-read",
    description: "The role assumed, when source is role",
  }),
  externalId: z.string().nullable().optional().openapi({
    example: "capwatch-0f1e2d3c4b5a69788796a5b4c3d2e1f0",
    description: "The ExternalId sent when assuming the role (put it in the role's trust " +
      "policy as the sts:ExternalId condition), when source is role; only for the " +
      "environment's admins",
  }),
  externalIdIssued: z.boolean().optional().openapi({
    description: "True when capwatch generated externalId (the environment is then not limited " +
      "by AWS_INSTANCE_ALLOWLIST); false when the caller chose it; only for admins",
  }),
}).openapi("Credentials");

// Keys and a role are two answers to one question; a body sending both is refused.
/** A role ARN of another partition than the region's cannot be assumed there (STS refuses). */
const samePartition = (body: { region?: string; roleArn?: string | null }) => {
  if (!body.region || !body.roleArn) return true;
  const partition = partitionOf(body.region)?.id;
  return !partition || roleArnPartition(body.roleArn) === partition;
};
const partitionMismatch = {
  message: "must be in the region's partition (arn:aws-cn:… for cn-* regions, arn:aws-us-gov:… " +
    "for us-gov-*, arn:aws:… for the others)",
  path: ["roleArn"],
};

const oneSource = {
  message: "Send either credentials or roleArn, not both",
  path: ["roleArn"],
  when: (payload: { issues: unknown[] }) => payload.issues.length === 0,
};
const externalIdWithRole = {
  message: "externalId belongs to a role: send roleArn with it",
  path: ["externalId"],
  when: (payload: { issues: unknown[] }) => payload.issues.length === 0,
};

export const Environment = z.object({
  id: z.number().int().openapi({ example: 1 }),
  name: z.string().openapi({ example: "production" }),
  region: z.string().openapi({ example: "us-east-1" }),
  dbInstanceIdentifier: z.string().openapi({ example: "prod-mysql-1" }),
  ownerId: z.string().openapi({ example: "user-1" }),
  role: z.enum(ROLES).openapi({ description: "The caller's role" }),
  credentials: Credentials,
  dbiResourceId: z.string().nullable().openapi({
    example: "db-ABCDEFGHIJKLMNOPQRSTU1VW2X",
    description: "The instance's DbiResourceId from RDS DescribeDBInstances; null until resolved",
  }),
  performanceInsights: z.object({
    enabled: z.boolean(),
    retentionDays: z.number().int().nullable().openapi({
      description: "Days Performance Insights keeps data (7 is the free tier)",
      example: 7,
    }),
  }).nullable().openapi({
    description: "Null until the instance is resolved",
    example: { enabled: true, retentionDays: 7 },
  }),
  resolution: z.object({
    status: z.enum(RESOLUTION_STATUSES).openapi({
      description:
        "pending: not looked up yet or AWS failed (asked again when needed); resolved; not_found: RDS says no such instance",
    }),
    reason: z.string().nullable().openapi({
      description: "Why it is not resolved, or a warning such as an instance being deleted; " +
        "only for the environment's admins (AWS errors name the principal), null for members",
    }),
  }).openapi("InstanceResolution"),
  createdAt: Timestamp,
  updatedAt: Timestamp,
}).openapi("Environment");

export const CreateEnvironment = z.object({
  name: displayName(100).openapi({ example: "production" }),
  region,
  dbInstanceIdentifier,
  credentials: CredentialsInput.optional(),
  roleArn: roleArn.optional(),
  externalId: externalId.optional(),
}).strict()
  .refine((body) => !(body.credentials && body.roleArn), oneSource)
  .refine((body) => body.externalId === undefined || body.roleArn, externalIdWithRole)
  .refine(samePartition, partitionMismatch)
  .openapi("CreateEnvironment", {
    example: { name: "production", region: "us-east-1", dbInstanceIdentifier: "prod-mysql-1" },
  });

export const UpdateEnvironment = z.object({
  name: displayName(100).optional().openapi({ example: "production" }),
  region: region.optional(),
  dbInstanceIdentifier: dbInstanceIdentifier.optional(),
  credentials: CredentialsInput.nullable().optional().openapi({
    description: "New credentials (a role set before is dropped), or null to remove them",
  }),
  roleArn: roleArn.nullable().optional().openapi({
    description: "A role to assume instead of stored credentials (which are dropped), or null " +
      "to remove it and its externalId",
  }),
  externalId: externalId.nullable().optional(),
}).strict().refine((body) => Object.keys(body).length > 0, {
  message: "Send at least one of name, region, dbInstanceIdentifier, credentials, roleArn",
  // Only an otherwise valid body is "empty"; an unknown field is reported on its own.
  when: (payload) => payload.issues.length === 0,
})
  .refine((body) => !(body.credentials && body.roleArn), oneSource)
  // Alone, {"externalId": null} would change nothing: it too needs the roleArn it belongs to.
  .refine(
    (body) =>
      body.externalId === undefined ||
      (body.externalId === null ? body.roleArn !== undefined : Boolean(body.roleArn)),
    externalIdWithRole,
  )
  .refine(samePartition, partitionMismatch)
  .openapi("UpdateEnvironment", {
    minProperties: 1,
    example: { name: "production-eu", region: "eu-west-1" },
  });

export const Member = z.object({
  userId: z.string().openapi({ example: "user-2" }),
  role: z.enum(ROLES),
  createdAt: Timestamp,
}).openapi("Member");

export const MemberParams = z.object({
  // No examples: Swagger UI would fill them in and change a membership nobody picked.
  id: pathInteger(z.number().int().positive()).openapi({
    param: { name: "id", in: "path" },
    description: "The environment's numeric id, in plain digits",
  }),
  userId: UserId.openapi({
    param: { name: "userId", in: "path" },
    description: "The member's user id (the `sub` of their token)",
  }),
});

export const PutMember = z.object({
  role: z.enum(ROLES).openapi({ example: "member" }),
}).strict().openapi("PutMember");
