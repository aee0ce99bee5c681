/** The words stored and answered for capture statuses and environment roles, each listed once. */

/** A capture's statuses, in lifecycle order: SCHEDULED → RUNNING → DONE; FAILED carries a reason. */
export const CAPTURE_STATUSES = ["SCHEDULED", "RUNNING", "DONE", "FAILED"] as const;
export type CaptureStatus = typeof CAPTURE_STATUSES[number];

/** A member's role in an environment; admins manage it and every capture in it. */
export const ROLES = ["admin", "member"] as const;
export type Role = typeof ROLES[number];
