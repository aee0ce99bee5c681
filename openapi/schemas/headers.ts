import { z } from "@hono/zod-openapi";

// Request headers as zod objects, keyed by their usual spelling (@hono/zod-validator matches
// header names case-insensitively).

const ifMatch = z.string().max(4096).optional().openapi({
  param: { name: "If-Match", in: "header" },
  description:
    'Apply the change only if the resource still has this ETag (from a GET or an earlier change), e.g. `"c.42.3.RUNNING"`; else 412. `*` means any version.',
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
