import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { ProblemBody } from "../openapi/schemas/problem.ts";
import {
  DEFAULT_KIND,
  PROBLEM_KINDS,
  type ProblemKind,
  problemType,
} from "../openapi/problem_types.ts";
import { isSafeHeaderValue } from "./safe_headers.ts";

/** errors[] lists at most this many entries; `moreErrors` counts the rest. */
export const MAX_LISTED_ERRORS = 20;
/** Fields a "Check …" detail names before it says how many more there are. */
const MAX_NAMED_FIELDS = 5;
/** Longest path or message text in a problem; a request's own key can be a megabyte long. */
const MAX_TEXT = 200;

const clip = (text: string) => text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT - 1)}…` : text;

/** "Check a, b" naming each distinct path, or the first few and how many more there are. */
export function checkFields(paths: string[]): string {
  const fields = [...new Set(paths)];
  const named = fields.slice(0, MAX_NAMED_FIELDS).map(clip).join(", ");
  const rest = fields.length - MAX_NAMED_FIELDS;
  return rest > 0 ? `Check ${named} and ${rest} more fields` : `Check ${named}`;
}

/** What a problem may carry besides its detail; `type` names its kind (default: per status). */
export interface ProblemExtra {
  errors?: ProblemBody["errors"];
  headers?: Record<string, string>;
  title?: string;
  type?: ProblemKind;
}

/**
 * Answers an RFC 9457 problem document with the given status, its `type` the URI of
 * `extra.type` or of the status's default kind (openapi/problem_types.ts). errors[] is cut to
 * MAX_LISTED_ERRORS entries (with `moreErrors` counting the rest) and its texts to MAX_TEXT
 * characters, so a request with 90,000 bad keys gets a small answer.
 */
export function problem<S extends ContentfulStatusCode>(
  c: Context,
  status: S,
  detail: string,
  extra: ProblemExtra = {},
) {
  const kind = extra.type ?? DEFAULT_KIND[status] ?? "internal";
  const body: ProblemBody = {
    type: problemType(kind),
    title: extra.title ?? PROBLEM_KINDS[kind].title,
    status,
    detail,
    instance: c.req.path,
    requestId: c.get("requestId"),
    ...(extra.errors ? listed(extra.errors) : {}),
  };
  // An unsafe value would make Headers throw and turn this answer into a 500; it is left out.
  const headers = Object.fromEntries(
    Object.entries(extra.headers ?? {}).filter(([, value]) => isSafeHeaderValue(value)),
  );
  return c.json(body, status, { ...headers, "Content-Type": "application/problem+json" });
}

function listed(errors: NonNullable<ProblemBody["errors"]>): Partial<ProblemBody> {
  const shown = errors.slice(0, MAX_LISTED_ERRORS).map((e) => ({
    path: clip(e.path),
    message: clip(e.message),
  }));
  const more = errors.length - shown.length;
  return more > 0 ? { errors: shown, moreErrors: more } : { errors: shown };
}
