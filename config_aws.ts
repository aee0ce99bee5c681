/**
 * The AWS identity variables beyond static keys: web identity (AWS_ROLE_ARN +
 * AWS_WEB_IDENTITY_TOKEN_FILE, as Kubernetes IRSA and Deno Deploy's AWS connections set them),
 * container credentials (AWS_CONTAINER_CREDENTIALS_FULL_URI / _RELATIVE_URI, as ECS and EKS Pod
 * Identity set them) and the STS endpoint override. Names and rules follow the AWS SDKs.
 */
import { z } from "zod";
import { PARTITIONS, regionProblem } from "./aws_partitions.ts";

/** An IAM role ARN in a partition aws_partitions.ts knows: account id, then path and name. */
export const ROLE_ARN_PATTERN = new RegExp(
  `^arn:(${PARTITIONS.map((p) => p.id).join("|")}):iam::\\d{12}:role\\/` +
    "(?:[\\w+=,.@-]+\\/)*[\\w+=,.@-]{1,64}$",
);

/** The partition id in a role ARN (`aws-cn` in arn:aws-cn:iam::…), or undefined. */
export const roleArnPartition = (arn: string): string | undefined =>
  /^arn:([a-z-]+):/.exec(arn)?.[1];

/** STS's rule for ExternalId: 2–1224 characters of [\w+=,.@:/-]. */
export const EXTERNAL_ID_PATTERN = /^[\w+=,.@:\/-]{2,1224}$/;
/** STS's rule for RoleSessionName: 2–64 characters of [\w+=,.@-]. */
const SESSION_NAME_PATTERN = /^[\w+=,.@-]{2,64}$/;

/** Where ECS puts its credential endpoint for AWS_CONTAINER_CREDENTIALS_RELATIVE_URI. */
const CONTAINER_CREDENTIALS_HOST = "http://169.254.170.2";

const optional = (schema: z.ZodType<string>) =>
  z.preprocess((v) => (v === "" ? undefined : v), schema.optional());

/** The zod shape of the variables, spread into config.ts's schema. */
export const AWS_IDENTITY_VARIABLES = {
  AWS_ROLE_ARN: optional(z.string().regex(ROLE_ARN_PATTERN, "must be an IAM role ARN")),
  AWS_WEB_IDENTITY_TOKEN_FILE: optional(z.string()),
  AWS_ROLE_SESSION_NAME: optional(
    z.string().regex(SESSION_NAME_PATTERN, "must be 2–64 characters of letters, digits, +=,.@_-"),
  ),
  AWS_REGION: optional(z.string()),
  AWS_DEFAULT_REGION: optional(z.string()),
  AWS_CONTAINER_CREDENTIALS_FULL_URI: optional(z.url()),
  AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: optional(z.string().startsWith("/", "must start with /")),
  AWS_CONTAINER_AUTHORIZATION_TOKEN: optional(z.string()),
  AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: optional(z.string()),
  AWS_STS_ENDPOINT: optional(z.string().regex(/^https?:\/\//, "must be an http(s) URL")),
};

type Raw = { [K in keyof typeof AWS_IDENTITY_VARIABLES]?: string };

/** Server-wide AWS identity besides static keys; see toAwsIdentity. */
export interface AwsIdentityConfig {
  webIdentity?: { roleArn: string; tokenFile: string; sessionName: string; region: string };
  container?: { url: string; token?: string; tokenFile?: string };
  /** STS URL template with `{region}` and `{dnsSuffix}` (tests point it at a fake). */
  stsEndpoint?: string;
}

// The SDKs refuse plain http to anything but these hosts: the token would cross a network.
const CONTAINER_HTTP_HOSTS = new Set([
  "localhost",
  "169.254.170.2",
  "169.254.170.23",
  "[fd00:ec2::23]",
  "[::1]",
]);

/**
 * Adds an issue on whichever of variables `a` and `b` is missing when only the other is set:
 * "is missing: <the other> is set, <why>".
 */
export function pairIssue<K extends string>(
  env: { [V in K]?: string },
  ctx: z.RefinementCtx,
  a: K,
  b: K,
  why: string,
): void {
  if (Boolean(env[a]) === Boolean(env[b])) return;
  const [set, missing] = env[a] ? [a, b] : [b, a];
  ctx.addIssue({ code: "custom", path: [missing], message: `is missing: ${set} is set, ${why}` });
}

/** Adds an issue for each variable that is set without its partner or points somewhere unsafe. */
export function awsIdentityIssues(env: Raw, ctx: z.RefinementCtx): void {
  pairIssue(env, ctx, "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE", "and web identity needs both");
  // Checked here, not at the first STS call, whose error would blame the environment's region.
  // Only the one in effect: AWS_REGION wins, as in the AWS SDKs.
  const regionVariable = env.AWS_REGION ? "AWS_REGION" : "AWS_DEFAULT_REGION";
  const region = env[regionVariable];
  const problem = region && regionProblem(region);
  if (problem) ctx.addIssue({ code: "custom", path: [regionVariable], message: problem });
  const full = env.AWS_CONTAINER_CREDENTIALS_FULL_URI;
  if (full && !env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI) {
    const url = URL.parse(full);
    if (!url) return; // the URL rule has already reported it
    const loopback = /^127\.\d+\.\d+\.\d+$/.test(url.hostname);
    if (
      !(url.protocol === "https:" ||
        (url.protocol === "http:" && (loopback || CONTAINER_HTTP_HOSTS.has(url.hostname))))
    ) {
      ctx.addIssue({
        code: "custom",
        path: ["AWS_CONTAINER_CREDENTIALS_FULL_URI"],
        message: "must be https, or http to a loopback address or the ECS/EKS credential host",
      });
    }
  }
}

/** The identity settings in use, or undefined when none is set. */
export function toAwsIdentity(raw: Raw): AwsIdentityConfig | undefined {
  const identity: AwsIdentityConfig = { stsEndpoint: raw.AWS_STS_ENDPOINT };
  if (raw.AWS_ROLE_ARN && raw.AWS_WEB_IDENTITY_TOKEN_FILE) {
    identity.webIdentity = {
      roleArn: raw.AWS_ROLE_ARN,
      tokenFile: raw.AWS_WEB_IDENTITY_TOKEN_FILE,
      sessionName: raw.AWS_ROLE_SESSION_NAME ?? "capwatch",
      region: raw.AWS_REGION ?? raw.AWS_DEFAULT_REGION ?? "us-east-1",
    };
  }
  // As in the SDKs, the relative URI wins over the full one.
  const url = raw.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI
    ? CONTAINER_CREDENTIALS_HOST + raw.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI
    : raw.AWS_CONTAINER_CREDENTIALS_FULL_URI;
  if (url) {
    identity.container = {
      url,
      token: raw.AWS_CONTAINER_AUTHORIZATION_TOKEN,
      tokenFile: raw.AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE,
    };
  }
  return identity.webIdentity || identity.container || identity.stsEndpoint ? identity : undefined;
}
