import type { Role } from "../db/schema.ts";

/** Admins manage an environment and every capture in it. */
export const canManageEnvironment = (role: Role) => role === "admin";

/** A capture's owner, or an admin of its environment, may stop, edit or delete it. */
export const canManageCapture = (role: Role, ownerId: string, userId: string) =>
  role === "admin" || ownerId === userId;
