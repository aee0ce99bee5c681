import { z } from "@hono/zod-openapi";
import { regionProblem } from "../../metrics/partitions.ts";
import { displayName, pathInteger, Timestamp, UserId } from "./common.ts";
import { ROLES } from "../../vocabulary.ts";

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
const dbInstanceIdentifier = z.string().regex(
  /^[A-Za-z](?!.*--)[A-Za-z0-9-]{0,62}(?<!-)$/,
  "must be an RDS DB instance identifier (1–63 letters, digits or hyphens, starting with a letter)",
).openapi({ example: "prod-mysql-1" });

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

export const Credentials = z.object({
  source: z.enum(["environment", "server", "none"]).openapi({
    description:
      "Where CloudWatch credentials come from: this environment's own, the server-wide AWS_* variables, or nowhere",
  }),
  accessKeyId: z.string().nullable().openapi({ example: "AKIA…MPLE", description: "Masked" }),
}).openapi("Credentials");

export const Environment = z.object({
  id: z.number().int().openapi({ example: 1 }),
  name: z.string().openapi({ example: "production" }),
  region: z.string().openapi({ example: "us-east-1" }),
  dbInstanceIdentifier: z.string().openapi({ example: "prod-mysql-1" }),
  ownerId: z.string().openapi({ example: "user-1" }),
  role: z.enum(ROLES).openapi({ description: "The caller's role" }),
  credentials: Credentials,
  createdAt: Timestamp,
  updatedAt: Timestamp,
}).openapi("Environment");

export const CreateEnvironment = z.object({
  name: displayName(100).openapi({ example: "production" }),
  region,
  dbInstanceIdentifier,
  credentials: CredentialsInput.optional(),
}).strict().openapi("CreateEnvironment", {
  example: { name: "production", region: "us-east-1", dbInstanceIdentifier: "prod-mysql-1" },
});

export const UpdateEnvironment = z.object({
  name: displayName(100).optional().openapi({ example: "production" }),
  region: region.optional(),
  dbInstanceIdentifier: dbInstanceIdentifier.optional(),
  credentials: CredentialsInput.nullable().optional().openapi({
    description: "New credentials, or null to remove them",
  }),
}).strict().refine((body) => Object.keys(body).length > 0, {
  message: "Send at least one of name, region, dbInstanceIdentifier, credentials",
  // Only an otherwise valid body is "empty"; an unknown field is reported on its own.
  when: (payload) => payload.issues.length === 0,
}).openapi("UpdateEnvironment", {
  minProperties: 1,
  example: { name: "production-eu", region: "eu-west-1" },
});

export const Member = z.object({
  userId: z.string().openapi({ example: "user-2" }),
  role: z.enum(ROLES),
  createdAt: Timestamp,
}).openapi("Member");

export const MemberParams = z.object({
  id: pathInteger(z.number().int().positive()).openapi({
    param: { name: "id", in: "path" },
    example: 1,
  }),
  userId: UserId.openapi({
    param: { name: "userId", in: "path" },
    example: "user-2",
  }),
});

export const PutMember = z.object({
  role: z.enum(ROLES).openapi({ example: "member" }),
}).strict().openapi("PutMember");
