import type { Context } from "hono";
import { problem } from "../../http/problem.ts";
import type { AppEnv } from "../../http/router.ts";

/** 400 naming one field. */
export function invalid(c: Context<AppEnv>, path: string, message: string) {
  return problem(c, 400, `Check ${path}: it ${message}`, { errors: [{ path, message }] });
}

/** 404 that does not reveal whether the capture exists. */
export function captureNotFound(c: Context<AppEnv>, id: number) {
  return problem(c, 404, `Capture ${id} does not exist or you are not a member of its environment`);
}

export function environmentNotFound(c: Context<AppEnv>, envId: number) {
  return problem(c, 404, `Environment ${envId} does not exist or you are not a member of it`);
}

export function nameTaken(c: Context<AppEnv>, name: string, envId: number) {
  return problem(
    c,
    409,
    `Environment ${envId} already has a capture named "${name}"; pick another name`,
  );
}

export function forbidden(c: Context<AppEnv>, id: number, action: string) {
  return problem(
    c,
    403,
    `Only the owner of capture ${id} or an admin of its environment may ${action} it`,
  );
}
