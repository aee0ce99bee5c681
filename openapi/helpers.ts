import { z } from "@hono/zod-openapi";
import { ETagHeader } from "./schemas/headers.ts";
import { Problem, PROBLEM_TITLES } from "./schemas/problem.ts";
import { CsvText } from "./schemas/media.ts";
import { kindsOfStatus, PROBLEM_KINDS, type ProblemKind, problemType } from "./problem_types.ts";

type ProblemStatus = keyof typeof PROBLEM_TITLES;

/** A JSON response declaration. */
export const json = <T extends z.ZodType>(schema: T, description: string) => ({
  content: { "application/json": { schema } },
  description,
});

/** A response in JSON or, on `Accept: text/csv`, RFC 4180 CSV with a header row. */
export const jsonOrCsv = <T extends z.ZodType>(
  schema: T,
  description: string,
  /** The operation's own CSV example, when its header differs from the metrics one. */
  csvExample?: string,
) => ({
  content: {
    "application/json": { schema },
    "text/csv": { schema: CsvText, ...(csvExample ? { example: csvExample } : {}) },
  },
  description,
});

/** `response` carrying the resource's current ETag header, e.g. `withETag(json(Capture, "…"))`. */
export const withETag = <R extends object>(response: R) => ({
  ...response,
  headers: z.object({ ETag: ETagHeader }),
});

/** The 304 answer to If-None-Match, carrying the current ETag. */
export const notModified = (description: string) => withETag({ description });

/** A required JSON request body, so a request without the content type is still validated. */
export const jsonBody = <T extends z.ZodType>(schema: T, description: string) => ({
  content: { "application/json": { schema } },
  description,
  required: true,
});

type Header = { description: string; schema: { type: "string"; example: string } };

/** The IETF rate-limit headers (draft-ietf-httpapi-ratelimit-headers) of rate-limited routes. */
export const RATE_LIMIT_HEADERS: Record<string, Header> = {
  "RateLimit-Policy": {
    description: "The rate limit that applies (draft-ietf-httpapi-ratelimit-headers), e.g. " +
      '`"metrics";q=120;w=60`: 120 requests per 60-second window, per user',
    schema: { type: "string", example: '"metrics";q=120;w=60' },
  },
  RateLimit: {
    description:
      "What is left of it: remaining requests `r` and seconds until the window resets `t`",
    schema: { type: "string", example: '"metrics";r=119;t=42' },
  },
};

// Headers that always come with a status, documented wherever that status is.
const problemHeaders: Partial<Record<ProblemStatus, Record<string, Header>>> = {
  401: {
    "WWW-Authenticate": {
      description: 'The bearer challenge, e.g. `Bearer realm="capwatch", error="invalid_token"`',
      schema: { type: "string", example: 'Bearer realm="capwatch"' },
    },
  },
  429: {
    "Retry-After": {
      description: "Seconds until the rate limit's window resets (rate limits only; a count " +
        "quota such as environments per user frees up when something is deleted)",
      schema: { type: "string", example: "42" },
    },
    ...RATE_LIMIT_HEADERS,
  },
  503: {
    "Retry-After": {
      description: "Seconds to wait before trying again",
      schema: { type: "string", example: "5" },
    },
  },
};

/** One example per problem type `status` can carry, each a $ref to problemExamples(). */
function examplesOf(status: ProblemStatus) {
  return Object.fromEntries(
    kindsOfStatus(status).map((kind) => [kind, { $ref: `#/components/examples/problem-${kind}` }]),
  );
}

/** components.examples: one example problem document per kind, named problem-<kind>. */
export function problemExamples() {
  return (Object.keys(PROBLEM_KINDS) as ProblemKind[]).map((kind) => ({
    name: `problem-${kind}`,
    example: {
      summary: PROBLEM_KINDS[kind].title,
      value: {
        type: problemType(kind),
        title: PROBLEM_KINDS[kind].title,
        status: PROBLEM_KINDS[kind].status,
        detail: PROBLEM_KINDS[kind].example,
        requestId: "5f0c6e1e-3c1a-4a4b-9a51-3f1f0f5d2b7e",
        ...(kind === "validation"
          ? {
            errors: [{
              path: "name",
              message: "Too small: expected string to have >=1 characters",
            }],
          }
          : {}),
      },
    },
  }));
}

/** One declared problem+json response (with its examples, and headers for some statuses). */
type ProblemResponse = {
  content: {
    "application/problem+json": { schema: typeof Problem; examples: ReturnType<typeof examplesOf> };
  };
  description: string;
  headers?: Record<string, Header>;
};

/**
 * Declares the problem+json responses a route can give, all with the one Problem schema and,
 * per status, one example of each problem type that status can carry.
 */
export function problems<S extends ProblemStatus>(...statuses: S[]): Record<S, ProblemResponse> {
  // Filled below for every status in `statuses`, which are exactly its keys.
  const responses = {} as Record<S, ProblemResponse>;
  for (const status of statuses) {
    responses[status] = {
      content: { "application/problem+json": { schema: Problem, examples: examplesOf(status) } },
      description: PROBLEM_TITLES[status],
      ...(problemHeaders[status] ? { headers: problemHeaders[status] } : {}),
    };
  }
  return responses;
}

/**
 * problems() for a route taking Idempotency-Key: its 409 also declares the Retry-After a retry
 * gets while the first request with the key is still being handled (routes/idempotency.ts).
 */
export function idempotentProblems<S extends ProblemStatus>(...statuses: S[]) {
  const declared = problems(...statuses) as Record<S, Record<string, unknown>>;
  const conflict = (declared as Record<number, Record<string, unknown>>)[409];
  if (conflict) {
    conflict.headers = {
      "Retry-After": {
        description: "Seconds to wait, when another request with this Idempotency-Key is still " +
          "in progress (type idempotency-in-progress); then send the same request again",
        schema: { type: "string", example: "1" },
      },
    };
  }
  return declared as unknown as ReturnType<typeof problems<S>>;
}
