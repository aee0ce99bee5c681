import { z } from "@hono/zod-openapi";
import {
  INTEGER_RULE,
  NAME_RULE,
  nameProblem,
  normalizeName,
  parseCanonicalInteger,
  USER_ID_MAX,
  USER_ID_RULE,
  userIdProblem,
} from "../../inputs.ts";

// Path and query values arrive as text; the one integer parser turns them into numbers, so
// 0x7, " 7", 07, 7.0 and 1e3 are refused instead of coerced. The document still says integer.
const canonicalInteger = (value: unknown, ctx: z.core.$RefinementCtx) => {
  if (typeof value !== "string") {
    if (Array.isArray(value)) ctx.addIssue({ code: "custom", message: "give it once" });
    return value;
  }
  const parsed = parseCanonicalInteger(value);
  if (parsed === undefined) {
    ctx.addIssue({ code: "custom", message: INTEGER_RULE });
    return z.NEVER;
  }
  return parsed;
};

/** An integer path parameter: canonical digits only (see inputs.ts), then `schema`'s bounds. */
export const pathInteger = <T extends z.ZodType>(schema: T) =>
  z.preprocess(canonicalInteger, schema);

/** An integer query parameter: as pathInteger, and an empty value (`?limit=`) means absent. */
export const queryInteger = <T extends z.ZodType>(schema: T) =>
  z.preprocess((value, ctx) => (isEmpty(value) ? undefined : canonicalInteger(value, ctx)), schema);

/** A text query parameter; an empty value (`?cursor=`) means absent, as for integers. */
export const queryText = <T extends z.ZodType>(schema: T) =>
  z.preprocess((value) => (isEmpty(value) ? undefined : value), schema);

/** An empty query value, given once (`?x=`) or repeated (`?x=&x=`): both mean absent. */
function isEmpty(value: unknown): boolean {
  return value === "" || (Array.isArray(value) && value.every((v) => v === ""));
}

/**
 * A repeatable query parameter (`?status=A&status=B`) as a list; empty values are dropped, and
 * none left means absent.
 */
export const queryList = <T extends z.ZodType>(schema: T) =>
  z.preprocess((value) => {
    const list = typeof value === "string" ? [value] : value;
    if (!Array.isArray(list)) return list;
    const given = list.filter((item) => item !== "");
    return given.length > 0 ? given : undefined;
  }, schema);

/** A positive integer id in a path, e.g. /api/environments/{id}. */
export const IdParams = z.object({
  id: pathInteger(z.number().int().positive()).openapi({
    param: { name: "id", in: "path" },
    // No example: Swagger UI would fill it in and act on a row nobody picked.
    description: "The environment's numeric id, in plain digits (its `id` in the list)",
  }),
});

// Unicode White_Space, which normalizeName trims from both ends, in BMP escapes.
const WHITE_SPACE = "\\t-\\r \\x85\\xA0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000";

/**
 * The part of nameProblem's rule a pattern can say without \p{…} or surrogate escapes (which
 * JSON Schema validators and generated clients read differently): no C0/C1 control, U+2028 or
 * U+2029 between the white space trimmed from the ends. Every name the server accepts matches it.
 */
export const NAME_PATTERN =
  `^[${WHITE_SPACE}]*[^\\x00-\\x1F\\x7F-\\x9F\\u2028\\u2029]+[${WHITE_SPACE}]*$`;

/**
 * A display name (capture, environment): NFC, trimmed, 1–`max` UTF-16 units, and nameProblem's
 * rules. The rules live in a refinement; the document carries NAME_PATTERN, a partial pattern.
 */
export const displayName = (max: number) =>
  z.string().overwrite(normalizeName).min(1).max(max).superRefine((name, ctx) => {
    if (name.length === 0) return;
    const problem = nameProblem(name);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  }).openapi({
    pattern: NAME_PATTERN,
    description: `${NAME_RULE}. The pattern is partial: it refuses control characters and ` +
      "U+2028/U+2029 only (white space around the name is allowed and trimmed); the server " +
      "checks the rest, so a name matching it may still be refused, never the other way round",
  });

/**
 * A name to look up: normalised like displayName, but not held to its rules, so a name stored
 * before they existed can still be found.
 */
export const nameFilter = (max: number) => z.string().overwrite(normalizeName).min(1).max(max);

/** A user id (the JWT `sub`): userIdProblem's rule, the same as the token verifier applies. */
export const UserId = z.string().superRefine((id, ctx) => {
  const problem = userIdProblem(id);
  if (problem) ctx.addIssue({ code: "custom", message: problem });
}).openapi({
  minLength: 1,
  maxLength: USER_ID_MAX,
  // BMP escapes only, so the pattern means the same with and without the u flag.
  pattern: "^[^\\x00-\\x1F\\x7F-\\x9F\\u2028\\u2029]+$",
  description: `A user id (JWT sub): ${USER_ID_RULE}`,
});

/** An ISO-8601 timestamp in UTC. */
export const Timestamp = z.string().openapi({
  format: "date-time",
  example: "2026-01-15T10:00:00.000Z",
});

/**
 * `limit` (1–200, default 50) and the opaque `cursor` of a keyset-paginated list; the next page's
 * URL is in the answer's `Link: <…>; rel="next"` header. `cursorMax` bounds the cursor's length.
 */
export const pageQuery = (cursorMax = 64) => ({
  // The default is applied here, not declared, so Swagger UI leaves the field empty.
  limit: queryInteger(z.number().int().min(1).max(200).optional().transform((n) => n ?? 50))
    .openapi({
      param: { name: "limit", in: "query" },
      description: "Page size, 1 to 200 (default 50)",
    }),
  cursor: queryText(z.string().min(1).max(cursorMax).optional()).openapi({
    param: { name: "cursor", in: "query" },
    description: "Opaque; copy it from the Link rel=next header",
  }),
});

/** A list's `Link` response header: the next page, when there is one. */
export const NextPageLink = z.object({
  Link: z.string().optional().openapi({ description: 'The next page: <…?cursor=…>; rel="next"' }),
});
