import { z } from "@hono/zod-openapi";

/** A positive integer id in a path, e.g. /api/environments/{id}. */
export const IdParams = z.object({
  id: z.coerce.number().int().positive().openapi({
    param: { name: "id", in: "path" },
    example: 1,
    description: "Numeric id",
  }),
});

// No control characters (Unicode Cc) and no lone surrogates (Cs), spelled without \p{…} and the
// u flag so the pattern in the document means the same to every JSON Schema validator.
// deno-lint-ignore no-control-regex -- matching control characters is the point: they are refused
const PRINTABLE = /^(?:[^\x00-\x1F\x7F-\x9F\uD800-\uDFFF]|[\uD800-\uDBFF][\uDC00-\uDFFF])+$/;

/** Printable text: no control characters, not blank. */
export const printable = (max: number) =>
  z.string().trim().min(1).max(max).regex(PRINTABLE, "must contain only printable characters");

/** An ISO-8601 timestamp in UTC. */
export const Timestamp = z.string().openapi({
  format: "date-time",
  example: "2026-01-15T10:00:00.000Z",
});
