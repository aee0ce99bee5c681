import { z } from "@hono/zod-openapi";

/** A positive integer id in a path, e.g. /api/environments/{id}. */
export const IdParams = z.object({
  id: z.coerce.number().int().positive().openapi({
    param: { name: "id", in: "path" },
    example: 1,
    description: "Numeric id",
  }),
});

/** Printable text: no control characters, not blank. */
export const printable = (max: number) =>
  z.string().trim().min(1).max(max).regex(
    /^[^\p{Cc}\p{Cs}]+$/u,
    "must contain only printable characters",
  );

/** An ISO-8601 timestamp in UTC. */
export const Timestamp = z.string().openapi({
  format: "date-time",
  example: "2026-01-15T10:00:00.000Z",
});
