import { z } from "zod";
import {
  AWS_IDENTITY_VARIABLES,
  type AwsIdentityConfig,
  awsIdentityIssues,
  pairIssue,
  toAwsIdentity,
} from "./config_aws.ts";

const optional = (schema: z.ZodType<string>) =>
  z.preprocess((v) => (v === "" ? undefined : v), schema.optional());

const notBlank = z.string().refine(
  (s) => s.trim() !== "" && s.trim() === s,
  "must not be blank or have spaces around it",
);

function isBase64Key(value: string): boolean {
  try {
    return decodeBase64(value).byteLength === 32;
  } catch {
    return false;
  }
}

const base64Key = z.string().refine(
  isBase64Key,
  "must be base64 of exactly 32 bytes (make one with: openssl rand -base64 32)",
);

const keyList = z.string().refine(
  (list) => list.split(",").every((key) => isBase64Key(key.trim())),
  "must be base64 of exactly 32 bytes (several separated by commas)",
);

const httpUrl = z.string().regex(/^https?:\/\//, "must be an http(s) URL");

/** Seconds from "90s", "15m", "24h", "7d" or a bare number of seconds; NaN when malformed. */
function durationSeconds(text: string): number {
  const match = /^(\d+)([smhd])?$/.exec(text.trim());
  if (!match) return NaN;
  return Number(match[1]) * { s: 1, m: 60, h: 3600, d: 86400 }[(match[2] ?? "s") as "s"];
}

const duration = z.string().refine(
  (text) => durationSeconds(text) > 0,
  "must be a duration such as 90s, 15m, 24h or 7d",
);

/** Per-user and per-environment limits; 0 means no limit. */
export interface Quotas {
  environmentsPerUser: number;
  capturesPerEnvironment: number;
  runningCapturesPerEnvironment: number;
  /** Metrics reads per user per minute, counted across every instance (the database). */
  metricsRequestsPerMinute: number;
  /** Bytes of stored snapshot series (CloudWatch and load) per environment. */
  snapshotBytesPerEnvironment: number;
}

/** The limits used when no QUOTA_* variable is set. */
const DEFAULT_QUOTAS: Quotas = {
  environmentsPerUser: 100,
  capturesPerEnvironment: 1000,
  runningCapturesPerEnvironment: 20,
  metricsRequestsPerMinute: 120,
  snapshotBytesPerEnvironment: 256 * 1024 * 1024,
};

/** A quota: a whole number, 0 meaning no limit. */
const quota = (fallback: number) =>
  z.preprocess(
    (v) => (typeof v === "string" && v.trim() === "" ? undefined : v),
    z.coerce.number().int("must be a whole number (0: no limit)").min(0).default(fallback),
  );

/** Comma-separated, blanks dropped. */
const list = (text: string | undefined) =>
  (text ?? "").split(",").map((item) => item.trim()).filter((item) => item !== "");

const ConfigSchema = z.object({
  // Blank means unset (8000), not 0: z.coerce.number would turn "" into a random port.
  PORT: z.preprocess(
    (v) => (typeof v === "string" && v.trim() === "" ? undefined : v),
    z.coerce.number().int().min(0).max(65535).default(8000),
  ),
  HOST: z.string().min(1).default("127.0.0.1"),
  DATABASE_URL: z.string().regex(
    /^(file:|:memory:$|libsql:\/\/|https?:\/\/|wss?:\/\/)/,
    "must be file:…, :memory:, libsql://…, https://… or wss://…",
  ).default("file:data/capwatch.db"),
  DATABASE_AUTH_TOKEN: optional(z.string()),
  JWT_SECRET: optional(
    z.string().refine(
      (s) => new TextEncoder().encode(s).byteLength >= 32,
      "must be at least 32 bytes",
    ),
  ),
  JWKS_URL: optional(z.url({ protocol: /^https?$/ })),
  // Blank would match no token, or (padded) not the one the provider sends: refused at start.
  JWT_ISSUER: optional(notBlank),
  JWT_AUDIENCE: optional(notBlank),
  JWT_TYP: optional(z.string()),
  JWT_MAX_AGE: optional(duration),
  CREDENTIALS_KEY: optional(base64Key),
  // Comma-separated: keys that only decrypt, while stored secrets move to CREDENTIALS_KEY.
  CREDENTIALS_KEY_PREVIOUS: optional(keyList),
  // Comma-separated: keys that only decrypt, before they become CREDENTIALS_KEY (rolling rotation).
  CREDENTIALS_KEY_NEXT: optional(keyList),
  // How often the sweeper runs where there is no Deno.cron (which runs it each minute).
  SWEEP_INTERVAL: optional(duration),
  AWS_ACCESS_KEY_ID: optional(z.string()),
  AWS_SECRET_ACCESS_KEY: optional(z.string()),
  AWS_SESSION_TOKEN: optional(z.string()),
  CLOUDWATCH_ENDPOINT: optional(httpUrl),
  PI_ENDPOINT: optional(httpUrl),
  RDS_ENDPOINT: optional(httpUrl),
  ...AWS_IDENTITY_VARIABLES,
  AWS_INSTANCE_ALLOWLIST: optional(z.string()),
  AWS_SERVER_CREDENTIAL_USERS: optional(z.string()),
  QUOTA_ENVIRONMENTS_PER_USER: quota(DEFAULT_QUOTAS.environmentsPerUser),
  QUOTA_CAPTURES_PER_ENVIRONMENT: quota(DEFAULT_QUOTAS.capturesPerEnvironment),
  QUOTA_RUNNING_CAPTURES_PER_ENVIRONMENT: quota(DEFAULT_QUOTAS.runningCapturesPerEnvironment),
  QUOTA_METRICS_REQUESTS_PER_MINUTE: quota(DEFAULT_QUOTAS.metricsRequestsPerMinute),
  QUOTA_SNAPSHOT_BYTES_PER_ENVIRONMENT: quota(DEFAULT_QUOTAS.snapshotBytesPerEnvironment),
  LOG_LEVEL: z.enum(["debug", "info", "warn", "error"]).default("info"),
  DENO_DEPLOYMENT_ID: optional(z.string()),
  DOCS_PERSIST_AUTHORIZATION: z.enum(["true", "false"]).default("false"),
  REUSE_PORT: z.enum(["true", "false"]).default("false"),
  // Comma-separated origins (https://app.example.com) or *; CORS stays off when unset.
  CORS_ORIGINS: optional(
    z.string().superRefine((list, ctx) => {
      const origins = originList(list);
      const bad = origins.find((o) => o !== "*" && !isOrigin(o));
      if (bad !== undefined || origins.length === 0) {
        const got = bad === undefined ? "" : `; got ${JSON.stringify(bad.slice(0, 100))}`;
        ctx.addIssue({
          code: "custom",
          message:
            `must list origins like https://app.example.com (scheme, host, port only) or *${got}`,
        });
      }
    }),
  ),
}).superRefine((env, ctx) => {
  awsIdentityIssues(env, ctx);
  // A shared identity provider signs tokens for every client it serves: only ours may log in.
  if (env.JWKS_URL && (!env.JWT_AUDIENCE || !env.JWT_ISSUER)) {
    ctx.addIssue({
      code: "custom",
      path: [env.JWT_AUDIENCE ? "JWT_ISSUER" : "JWT_AUDIENCE"],
      message: "must be set with JWKS_URL (the iss and aud your identity provider puts in " +
        "capwatch's tokens), so tokens it issued for other applications are refused",
    });
  }
  for (const pattern of list(env.AWS_INSTANCE_ALLOWLIST)) {
    if (!isInstancePattern(pattern)) {
      ctx.addIssue({
        code: "custom",
        path: ["AWS_INSTANCE_ALLOWLIST"],
        message: `has "${pattern}", which is neither an instance identifier (globs * and ? ` +
          "allowed) nor an RDS ARN such as arn:aws:rds:us-east-1:123456789012:db:prod-*",
      });
    }
  }
  // Dev mode signs its own tokens and prints one to the log: fine on a laptop, never on a network.
  if (!env.JWT_SECRET && !env.JWKS_URL && !isLoopback(env.HOST)) {
    ctx.addIssue({
      code: "custom",
      path: ["HOST"],
      message:
        `is ${env.HOST}, but dev mode (no JWT_SECRET or JWKS_URL) listens on loopback only: ` +
        "set JWT_SECRET or JWKS_URL, or HOST=127.0.0.1",
    });
  }
  for (const name of ["CREDENTIALS_KEY_PREVIOUS", "CREDENTIALS_KEY_NEXT"] as const) {
    if (env[name] && !env.CREDENTIALS_KEY) {
      ctx.addIssue({
        code: "custom",
        path: [name],
        message: "is set without CREDENTIALS_KEY (the key that encrypts); set both",
      });
    }
  }
  pairIssue(env, ctx, "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "and the two go together");
});

type RawConfig = z.output<typeof ConfigSchema>;

const originList = (list: string) => list.split(",").map((o) => o.trim()).filter((o) => o !== "");

/** Whether `text` is a serialized http(s) origin (RFC 6454): scheme://host[:port], nothing else. */
function isOrigin(text: string): boolean {
  try {
    const url = new URL(text);
    return (url.protocol === "http:" || url.protocol === "https:") && url.origin === text;
  } catch {
    return false;
  }
}

/** Whether `host` names this machine only: 127.0.0.0/8, ::1 or localhost (any spelling of them). */
export function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[(.*)\]$/, "$1").toLowerCase();
  if (bare === "localhost") return true;
  try {
    // The URL parser normalises "127.1", "0x7f.0.0.1" and "0:0::1" the way the resolver reads them.
    const hostname = new URL(`http://${bare.includes(":") ? `[${bare}]` : bare}/`).hostname;
    return /^127\.\d+\.\d+\.\d+$/.test(hostname) || hostname === "[::1]" ||
      /^\[::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}\]$/.test(hostname);
  } catch {
    return false;
  }
}

/** Server-wide AWS credentials, used when an environment has none of its own. */
export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** Maximum age of a JWKS-mode token (from its iat), in seconds, when JWT_MAX_AGE is unset. */
const DEFAULT_JWT_MAX_AGE_SECONDS = 24 * 3600;

/**
 * Who may bind an RDS instance to an environment that reads it with server-wide credentials.
 * Unrestricted (neither variable set): anyone. Else a listed user, or a listed instance.
 */
export interface ServerCredentialPolicy {
  /** Patterns from AWS_INSTANCE_ALLOWLIST: identifier globs or RDS ARN globs. */
  instances: string[];
  /** User ids (token sub) from AWS_SERVER_CREDENTIAL_USERS, who may bind any instance. */
  users: string[];
}

const ARN_PATTERN = /^arn:([a-z*-]+):rds:([a-z0-9*?-]+):(\d{12}|\*):db:([A-Za-z0-9*?-]+)$/;

function isInstancePattern(pattern: string): boolean {
  return ARN_PATTERN.test(pattern) || /^[A-Za-z0-9*?-]{1,63}$/.test(pattern);
}

/** The validated configuration every other module receives. */
export interface Config {
  port: number;
  host: string;
  databaseUrl: string;
  databaseAuthToken?: string;
  jwt: {
    secret?: string;
    jwksUrl?: string;
    issuer?: string;
    audience?: string;
    /** Required `typ` header (JWT_TYP), JWKS mode only. */
    typ?: string;
    /** Oldest accepted token (from iat) when JWKS_URL is set, HS256 ones included, in seconds. */
    maxAgeSeconds?: number;
  };
  /** Who may read an instance with server-wide credentials; see ServerCredentialPolicy. */
  serverCredentialPolicy: ServerCredentialPolicy;
  quotas: Quotas;
  credentialsKey?: Uint8Array;
  /** Keys that still decrypt stored secrets during a rotation (CREDENTIALS_KEY_PREVIOUS). */
  previousCredentialsKeys?: Uint8Array[];
  /** Keys that decrypt ahead of becoming CREDENTIALS_KEY, phase 1 of a rotation (CREDENTIALS_KEY_NEXT). */
  nextCredentialsKeys?: Uint8Array[];
  /** Milliseconds between sweeps where there is no Deno.cron (SWEEP_INTERVAL, default 60 s). */
  sweepIntervalMs: number;
  awsCredentials?: AwsCredentials;
  /** Where server-wide credentials come from besides static keys, and the STS endpoint. */
  aws?: AwsIdentityConfig;
  cloudwatchEndpoint?: string;
  /** Performance Insights and RDS endpoint templates (`{region}`, `{dnsSuffix}`), for tests. */
  piEndpoint?: string;
  rdsEndpoint?: string;
  logLevel: "debug" | "info" | "warn" | "error";
  onDeploy: boolean;
  /** /docs keeps the pasted token in localStorage across tabs and restarts; else the tab only. */
  docsPersistAuthorization?: boolean;
  /** Listen with SO_REUSEPORT (Linux), so several processes share one port; the kernel spreads connections. */
  reusePort?: boolean;
  /** Origins allowed to call the API from a browser (CORS_ORIGINS); CORS is off when absent. */
  corsOrigins?: string[];
}

/** Thrown for a bad environment; its message is the one line main.ts prints before exiting. */
export class ConfigError extends Error {}

/** Parses environment variables into a Config, or throws ConfigError naming the variable. */
export function loadConfig(env: Record<string, string | undefined>): Config {
  // A variable set to "" (as .env files and compose often leave them) means unset.
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== ""));
  const parsed = ConfigSchema.safeParse(present);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigError(`Invalid configuration: ${issue.path.join(".")} ${issue.message}`);
  }
  return toConfig(parsed.data);
}

function toConfig(raw: RawConfig): Config {
  return {
    port: raw.PORT,
    host: raw.HOST,
    databaseUrl: raw.DATABASE_URL,
    databaseAuthToken: raw.DATABASE_AUTH_TOKEN,
    jwt: {
      secret: raw.JWT_SECRET,
      jwksUrl: raw.JWKS_URL,
      issuer: raw.JWT_ISSUER,
      audience: raw.JWT_AUDIENCE,
      typ: raw.JWT_TYP,
      maxAgeSeconds: raw.JWT_MAX_AGE
        ? durationSeconds(raw.JWT_MAX_AGE)
        : DEFAULT_JWT_MAX_AGE_SECONDS,
    },
    serverCredentialPolicy: {
      instances: list(raw.AWS_INSTANCE_ALLOWLIST),
      users: list(raw.AWS_SERVER_CREDENTIAL_USERS),
    },
    quotas: {
      environmentsPerUser: raw.QUOTA_ENVIRONMENTS_PER_USER,
      capturesPerEnvironment: raw.QUOTA_CAPTURES_PER_ENVIRONMENT,
      runningCapturesPerEnvironment: raw.QUOTA_RUNNING_CAPTURES_PER_ENVIRONMENT,
      metricsRequestsPerMinute: raw.QUOTA_METRICS_REQUESTS_PER_MINUTE,
      snapshotBytesPerEnvironment: raw.QUOTA_SNAPSHOT_BYTES_PER_ENVIRONMENT,
    },
    credentialsKey: raw.CREDENTIALS_KEY ? decodeBase64(raw.CREDENTIALS_KEY) : undefined,
    previousCredentialsKeys: keys(raw.CREDENTIALS_KEY_PREVIOUS),
    nextCredentialsKeys: keys(raw.CREDENTIALS_KEY_NEXT),
    sweepIntervalMs: raw.SWEEP_INTERVAL ? durationSeconds(raw.SWEEP_INTERVAL) * 1000 : 60_000,
    aws: toAwsIdentity(raw),
    awsCredentials: raw.AWS_ACCESS_KEY_ID && raw.AWS_SECRET_ACCESS_KEY
      ? {
        accessKeyId: raw.AWS_ACCESS_KEY_ID,
        secretAccessKey: raw.AWS_SECRET_ACCESS_KEY,
        sessionToken: raw.AWS_SESSION_TOKEN,
      }
      : undefined,
    cloudwatchEndpoint: raw.CLOUDWATCH_ENDPOINT,
    piEndpoint: raw.PI_ENDPOINT,
    rdsEndpoint: raw.RDS_ENDPOINT,
    logLevel: raw.LOG_LEVEL,
    onDeploy: Boolean(raw.DENO_DEPLOYMENT_ID),
    docsPersistAuthorization: raw.DOCS_PERSIST_AUTHORIZATION === "true",
    reusePort: raw.REUSE_PORT === "true",
    corsOrigins: raw.CORS_ORIGINS ? originList(raw.CORS_ORIGINS) : undefined,
  };
}

const keys = (text: string | undefined) =>
  text ? text.split(",").map((key) => decodeBase64(key.trim())) : undefined;

function decodeBase64(value: string): Uint8Array {
  const binary = atob(value);
  return Uint8Array.from(binary, (ch) => ch.charCodeAt(0));
}
