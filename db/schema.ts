import { sql } from "drizzle-orm";
import {
  index,
  integer,
  primaryKey,
  sqliteTable,
  text,
  uniqueIndex,
} from "drizzle-orm/sqlite-core";
import { CAPTURE_STATUSES, RESOLUTION_STATUSES, ROLES } from "../vocabulary.ts";

// Timestamps are integer milliseconds since the epoch (UTC); the API layer renders ISO-8601.

export const environments = sqliteTable("environments", {
  id: integer("id").primaryKey({ autoIncrement: true }),
  // Unique per owner (environments_name_per_owner): two teams may both call theirs "prod".
  name: text("name").notNull(),
  region: text("region").notNull(),
  dbInstanceIdentifier: text("db_instance_identifier").notNull(),
  ownerId: text("owner_id").notNull(),
  accessKeyId: text("access_key_id"),
  // AES-256-GCM envelope of { secretAccessKey, sessionToken }; never the plaintext.
  secretCiphertext: text("secret_ciphertext"),
  // An IAM role assumed through STS instead of stored keys; ExternalId is not secret to AWS.
  roleArn: text("role_arn"),
  externalId: text("external_id"),
  // True when capwatch generated externalId (the confused-deputy defence assumes the service picks
  // it); a caller-chosen one proves nothing, so such a role stays under AWS_INSTANCE_ALLOWLIST.
  externalIdIssued: integer("external_id_issued", { mode: "boolean" }).notNull().default(false),
  // What RDS DescribeDBInstances said of the instance (metrics/resolve_instance.ts); null until
  // resolved. dbiResourceId is Performance Insights' Identifier.
  dbiResourceId: text("dbi_resource_id"),
  engine: text("engine"),
  piEnabled: integer("pi_enabled", { mode: "boolean" }),
  piRetentionDays: integer("pi_retention_days"),
  resolutionStatus: text("resolution_status", { enum: RESOLUTION_STATUSES }),
  resolutionReason: text("resolution_reason"),
  resolvedAt: integer("resolved_at"),
  createdAt: integer("created_at").notNull(),
  updatedAt: integer("updated_at").notNull(),
  // Bumped by every change; the ETag's validator, so two changes in one millisecond differ.
  version: integer("version").notNull().default(1),
}, (t) => [
  uniqueIndex("environments_name_per_owner").on(t.ownerId, t.name),
]);

export const memberships = sqliteTable("memberships", {
  envId: integer("env_id").notNull().references(() => environments.id, { onDelete: "cascade" }),
  userId: text("user_id").notNull(),
  role: text("role", { enum: ROLES }).notNull(),
  createdAt: integer("created_at").notNull(),
}, (t) => [
  primaryKey({ columns: [t.envId, t.userId] }),
  index("memberships_by_user").on(t.userId, t.envId),
]);

export const captures = sqliteTable("captures", {
  id: integer("id").primaryKey({ autoIncrement: true }),
  envId: integer("env_id").notNull().references(() => environments.id, { onDelete: "cascade" }),
  ownerId: text("owner_id").notNull(),
  name: text("name").notNull(),
  status: text("status", { enum: CAPTURE_STATUSES }).notNull(),
  scheduledStart: integer("scheduled_start"),
  start: integer("start"),
  end: integer("end"),
  // Seconds; null means the capture runs until it is stopped.
  duration: integer("duration"),
  reason: text("reason"),
  snapshotAttempts: integer("snapshot_attempts").notNull().default(0),
  snapshotError: text("snapshot_error"),
  snapshotNextAttemptAt: integer("snapshot_next_attempt_at"),
  // The instance taking the snapshot and until when (ms) its claim holds; only it calls AWS.
  snapshotLeaseOwner: text("snapshot_lease_owner"),
  snapshotLeaseUntil: integer("snapshot_lease_until"),
  // When RDS last confirmed the instance exists for this capture's start (ms); null until then,
  // so the sweeper asks again after a transient failure.
  instanceCheckedAt: integer("instance_checked_at"),

  // Counts the changes a client can see (edit, stop, rename); the capture's ETag carries it.
  version: integer("version").notNull().default(1),
  createdAt: integer("created_at").notNull(),
  updatedAt: integer("updated_at").notNull(),
}, (t) => [
  uniqueIndex("captures_name_per_env").on(t.envId, t.name),
  index("captures_by_env_newest").on(t.envId, sql`${t.id} desc`),
  index("captures_by_status").on(t.status),
  // The running quota's overlap count (db/captures.ts overlappingLive) reads only these columns of
  // an environment's unfinished captures: this index alone answers it, skipping finished ones
  // and never visiting the table. Its WHERE must match the query's term literally (not bound).
  index("captures_live_windows_by_env")
    .on(t.envId, t.start, t.scheduledStart, t.duration, t.status)
    .where(sql`${t.status} NOT IN ('DONE', 'FAILED')`),
]);

/**
 * How many captures each environment holds, and how many of them are unfinished (stored status not
 * DONE or FAILED): the quotas' counts in O(1). Kept by triggers on `captures` (migration
 * 0013_capture_count_triggers; 0012 makes the table), so every write of any process moves them in
 * its own transaction; no code writes this table. No row: no capture yet.
 */
export const environmentCaptureCounts = sqliteTable("environment_capture_counts", {
  envId: integer("env_id").primaryKey(),
  captures: integer("captures").notNull().default(0),
  live: integer("live").notNull().default(0),
});

export const captureSnapshots = sqliteTable("capture_snapshots", {
  captureId: integer("capture_id").primaryKey().references(() => captures.id, {
    onDelete: "cascade",
  }),
  period: integer("period").notNull(),
  start: integer("start").notNull(),
  end: integer("end").notNull(),
  // False when CloudWatch kept answering with partial data.
  complete: integer("complete", { mode: "boolean" }).notNull().default(true),
  takenAt: integer("taken_at").notNull(),
});

// One row a series, so a read parses only the series it returns.
export const captureSnapshotSeries = sqliteTable("capture_snapshot_series", {
  captureId: integer("capture_id").notNull().references(() => captures.id, {
    onDelete: "cascade",
  }),
  stat: text("stat").notNull(),
  type: text("type").notNull(),
  label: text("label").notNull(),
  unit: text("unit").notNull(),
  complete: integer("complete", { mode: "boolean" }).notNull(),
  // JSON: [{ timestamp, value }] ascending, at the snapshot's period.
  datapoints: text("datapoints").notNull(),
}, (t) => [primaryKey({ columns: [t.captureId, t.stat, t.type] })]);

// Database load from Performance Insights, stored when a capture ends (metrics/snapshotter.ts):
// one row a grouping (wait, sql) with the total series, one row a group with its own.
export const captureLoadSnapshots = sqliteTable("capture_load_snapshots", {
  captureId: integer("capture_id").notNull().references(() => captures.id, {
    onDelete: "cascade",
  }),
  groupBy: text("group_by").notNull(),
  period: integer("period").notNull(),
  start: integer("start").notNull(),
  end: integer("end").notNull(),
  complete: integer("complete", { mode: "boolean" }).notNull(),
  takenAt: integer("taken_at").notNull(),
  // JSON: [{ timestamp, value }] of db.load.avg over the whole instance.
  total: text("total").notNull(),
}, (t) => [primaryKey({ columns: [t.captureId, t.groupBy] })]);

export const captureLoadGroups = sqliteTable("capture_load_groups", {
  captureId: integer("capture_id").notNull().references(() => captures.id, {
    onDelete: "cascade",
  }),
  groupBy: text("group_by").notNull(),
  key: text("key").notNull(),
  rank: integer("rank").notNull(),
  label: text("label").notNull(),
  // JSON: { callsPerSecond, latencyMsPerCall, rowsPerCall } for SQL digests, else null.
  stats: text("stats"),
  statement: text("statement"),
  // SQL digests: one statement's db.sql.id and its full text (GetDimensionKeyDetails) at
  // snapshot time, so GET …/sql/{digestId} answers after PI has forgotten; null when not fetched.
  sqlId: text("sql_id"),
  fullStatement: text("full_statement"),
  datapoints: text("datapoints").notNull(),
}, (t) => [primaryKey({ columns: [t.captureId, t.groupBy, t.key] })]);
// Fixed-window request counters shared by every instance: one row per user, policy and minute.
export const rateLimits = sqliteTable("rate_limits", {
  userId: text("user_id").notNull(),
  policy: text("policy").notNull(),
  // Epoch ms at which the window starts.
  windowStart: integer("window_start").notNull(),
  count: integer("count").notNull(),
}, (t) => [primaryKey({ columns: [t.userId, t.policy, t.windowStart] })]);

// The first answer to a request sent with an Idempotency-Key, per caller, method and path, for
// 24 hours; shared by every instance through the database (routes/idempotency.ts).
export const idempotencyKeys = sqliteTable("idempotency_keys", {
  callerId: text("caller_id").notNull(),
  method: text("method").notNull(),
  path: text("path").notNull(),
  key: text("key").notNull(),
  // SHA-256 (hex) of the request body in canonical JSON: a retry must send the same one.
  requestHash: text("request_hash").notNull(),
  // Set while the first request is handled (by whoever holds the token, until claimUntil ms);
  // null once its answer is stored.
  claimToken: text("claim_token"),
  claimUntil: integer("claim_until"),
  status: integer("status"),
  // JSON object of the answer's headers worth replaying (Location, ETag, Content-Type).
  headers: text("headers"),
  body: text("body"),
  createdAt: integer("created_at").notNull(),
  expiresAt: integer("expires_at").notNull(),
}, (t) => [
  primaryKey({ columns: [t.callerId, t.method, t.path, t.key] }),
  index("idempotency_keys_by_expiry").on(t.expiresAt),
]);

export type EnvironmentRow = typeof environments.$inferSelect;
export type MembershipRow = typeof memberships.$inferSelect;
export type CaptureRow = typeof captures.$inferSelect;
export type CaptureSnapshotRow = typeof captureSnapshots.$inferSelect;
export type IdempotencyKeyRow = typeof idempotencyKeys.$inferSelect;
export type CaptureSnapshotSeriesRow = typeof captureSnapshotSeries.$inferSelect;
export type { CaptureStatus, Role } from "../vocabulary.ts";
