import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { problem } from "../http/problem.ts";
import type { Refusal } from "../operations/outcome.ts";

/**
 * The one map from an operation's refusal to its RFC 9457 answer: not_found 404, forbidden 403,
 * precondition_failed 412, conflict 409 (typed name-taken or invalid-state when the operation
 * says so), quota 429 (quota-exceeded, no Retry-After), invalid 400 naming the field, upstream 502 (bad answer), 503 with
 * Retry-After (throttled) or 504 (timed out). `about` goes in front of the detail ("Baseline
 * capture 4: ").
 */
export function refusalProblem<R extends Refusal>(
  c: Context,
  refusal: R,
  about = "",
): Problem<StatusOf<R>> {
  // The switch answers exactly StatusOf<R>; TypeScript cannot narrow a generic by its kind.
  return answer(c, refusal, about) as Problem<StatusOf<R>>;
}

type StatusOf<R extends Refusal> = {
  not_found: 404;
  forbidden: 403;
  precondition_failed: 412;
  quota: 429;
  conflict: 409;
  invalid: 400;
  upstream: 502 | 503 | 504;
}[R["kind"]];

type Problem<S extends ContentfulStatusCode> = ReturnType<typeof problem<S>>;

function answer(c: Context, refusal: Refusal, about: string) {
  switch (refusal.kind) {
    case "not_found":
      return problem(c, 404, about + refusal.detail);
    case "forbidden":
      return problem(c, 403, about + refusal.detail);
    case "precondition_failed":
      return problem(c, 412, about + refusal.detail);
    case "quota":
      return problem(c, 429, about + refusal.detail, { type: "quota-exceeded" });
    case "conflict":
      return problem(c, 409, about + refusal.detail, { type: refusal.problemKind });
    case "invalid":
      return problem(c, 400, about + refusal.detail, {
        errors: [{ path: refusal.field, message: refusal.message }],
      });
    case "upstream": {
      const { error } = refusal;
      // AWS's own text gets its code in front; ours ("CloudWatch did not answer…") names it.
      const upstream = about +
        (error.code
          ? `${error.service} ${error.code}: ${error.message}`
          : error.message.includes(error.service)
          ? error.message
          : `${error.service}: ${error.message}`);
      if (error.kind === "throttled") {
        return problem(c, 503, `${upstream}. Retry later.`, {
          type: "upstream-throttled",
          headers: { "Retry-After": String(error.retryAfterSeconds ?? 5) },
        });
      }
      if (error.kind === "timeout") return problem(c, 504, `${upstream}. Retry later.`);
      if (error.kind === "misconfigured") return problem(c, 503, upstream);
      return problem(c, 502, upstream);
    }
  }
}
