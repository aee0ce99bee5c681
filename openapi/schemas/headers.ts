import { z } from "@hono/zod-openapi";

// Request headers as zod objects, keyed by their usual spelling (@hono/zod-validator matches
// header names case-insensitively).

/** The longest Idempotency-Key capwatch keeps. */
export const IDEMPOTENCY_KEY_MAX = 255;

/** Printable ASCII without spaces: what an Idempotency-Key may be. */
export const IDEMPOTENCY_KEY_PATTERN = /^[\x21-\x7E]+$/;

const idempotencyKey = z.string().min(1).max(IDEMPOTENCY_KEY_MAX).regex(
  IDEMPOTENCY_KEY_PATTERN,
  "must be printable ASCII without spaces",
).optional().openapi({
  param: { name: "Idempotency-Key", in: "header" },
  description:
    "Makes a retry safe: a unique value per operation (a UUID). The first answer that decides (2xx, or a 409 such as name taken) is kept for 24 hours for you, this method and path, and a retry with the same key and body gets it again (status, Location, ETag, body; marked `Idempotent-Replayed: true`). A refused request (400, 401, 403, 404, 412, 413, 415, 429, 5xx) is not kept: its retry is judged afresh. The same key with another body answers 422; while the first request is still in progress, 409 with Retry-After.",
});

/** The Idempotency-Key request header (README "Retries, ETags and CORS"). */
export const IdempotencyHeaders = z.object({ "Idempotency-Key": idempotencyKey });

const ifMatch = z.string().max(4096).optional().openapi({
  param: { name: "If-Match", in: "header" },
  description:
    'Apply the change only if the resource still has this ETag (from a GET or an earlier change), copied as sent: for a capture like `"c.42.3.RUNNING"`, for an environment like `"e.1.2.<digest>"`; else 412. `*` means any version; an empty value matches none (412).',
});

const ifNoneMatch = z.string().max(4096).optional().openapi({
  param: { name: "If-None-Match", in: "header" },
  description: "The ETag you hold: when it is still current the answer is 304 with no body.",
});

/** If-Match, for changes (PUT, PATCH, DELETE, stop). */
export const IfMatchHeaders = z.object({ "If-Match": ifMatch });

/** If-None-Match, for reads. */
export const IfNoneMatchHeaders = z.object({ "If-None-Match": ifNoneMatch });

/** The ETag response header of a single resource. */
export const ETagHeader = z.string().openapi({
  description: "Strong validator of this representation; send it back in If-Match or If-None-Match",
  example: '"c.42.1.RUNNING"',
});

/** Idempotent-Replayed on the success answer of a route taking Idempotency-Key. */
export const IdempotentReplayedHeader = z.enum(["true"]).optional().openapi({
  description:
    "`true` when this is the kept first answer to an earlier request with the same Idempotency-Key, replayed; absent on a first answer",
  example: "true",
});
