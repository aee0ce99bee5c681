/** The words stored and answered for capture statuses and environment roles, each listed once. */

/** A capture's statuses, in lifecycle order: SCHEDULED → RUNNING → DONE; FAILED carries a reason. */
export const CAPTURE_STATUSES = ["SCHEDULED", "RUNNING", "DONE", "FAILED"] as const;
export type CaptureStatus = typeof CAPTURE_STATUSES[number];

/** A member's role in an environment; admins manage it and every capture in it. */
export const ROLES = ["admin", "member"] as const;
export type Role = typeof ROLES[number];

/**
 * Where an environment's instance lookup stands (RDS DescribeDBInstances): pending (not yet
 * asked, or asked and AWS failed for a while), resolved, not_found (AWS says no such instance).
 */
export const RESOLUTION_STATUSES = ["pending", "resolved", "not_found"] as const;
export type ResolutionStatus = typeof RESOLUTION_STATUSES[number];

/** How `GET /api/captures/{id}/load` groups database load, and the Performance Insights group. */
export const LOAD_GROUPS = {
  wait: "db.wait_event",
  sql: "db.sql_tokenized",
  user: "db.user",
  host: "db.host",
} as const;
export type LoadGroupBy = keyof typeof LOAD_GROUPS;
export const LOAD_GROUP_NAMES = Object.keys(LOAD_GROUPS) as LoadGroupBy[];

/** Where metrics were read: CloudWatch, or the snapshot stored after the capture ended. */
export const METRICS_SOURCES = ["cloudwatch", "snapshot"] as const;
export type MetricsSource = typeof METRICS_SOURCES[number];
