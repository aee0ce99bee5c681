import type { RuleRefusal } from "../lifecycle/rules.ts";
import type { CloudWatchError } from "../metrics/cloudwatch.ts";

/**
 * Why an operation changed or answered nothing; routes/refusal.ts maps each kind to one HTTP
 * status (404, 403, 412, 409, 400, 429, 502–504). `detail` is the text the caller reads.
 */
export type Refusal =
  | { ok: false; kind: "not_found"; detail: string }
  | { ok: false; kind: "forbidden"; detail: string }
  /** If-Match named a version that is no longer current. */
  | { ok: false; kind: "precondition_failed"; detail: string }
  | { ok: false; kind: "quota"; detail: string }
  | RuleRefusal
  | { ok: false; kind: "upstream"; error: CloudWatchError };

/** What an operation returns: its result's fields with ok: true, or a refusal of a kind in `K`. */
export type Outcome<T extends object, K extends Refusal["kind"]> =
  | ({ ok: true } & T)
  | Extract<Refusal, { kind: K }>;

/** 404 that does not reveal whether environment `envId` exists to a caller who is not a member. */
export const environmentNotFound = (envId: number): Refusal & { kind: "not_found" } => ({
  ok: false,
  kind: "not_found",
  detail: `Environment ${envId} does not exist or you are not a member of it`,
});
