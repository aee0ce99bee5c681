import { createRoute, z } from "@hono/zod-openapi";
import { problem } from "../http/problem.ts";
import { createRouter } from "../http/router.ts";
import { problems } from "../openapi/helpers.ts";
import { PROBLEM_KINDS, type ProblemKind, problemType } from "../openapi/problem_types.ts";

const KINDS = Object.keys(PROBLEM_KINDS) as [ProblemKind, ...ProblemKind[]];

const explain = createRoute({
  method: "get",
  path: "/problems/{kind}",
  tags: ["Operations"],
  operationId: "getProblemType",
  summary: "Explain a problem type",
  description:
    "What a problem's `type` means and what to do about it, as plain text. No authentication.",
  security: [],
  request: {
    params: z.object({
      // Checked by the handler, so an unknown kind is a 404 like any other missing page.
      kind: z.string().max(64).openapi({
        param: { name: "kind", in: "path" },
        enum: KINDS,
        description: "The last segment of a problem's `type`, e.g. name-taken",
      }),
    }),
  },
  responses: {
    200: {
      content: { "text/plain": { schema: z.string() } },
      description: "The explanation",
    },
    ...problems(400, 404),
  },
});

/** GET /problems/{kind}: the page each problem `type` URI resolves to. */
export const problemsRouter = () =>
  createRouter().openapi(explain, (c) => {
    const given = c.req.valid("param").kind;
    if (!Object.hasOwn(PROBLEM_KINDS, given)) {
      return problem(c, 404, `No problem type ${given}; see the Problem schema in /openapi.json`);
    }
    const kind = given as ProblemKind;
    const info = PROBLEM_KINDS[kind];
    const text = [
      `${problemType(kind)}: ${info.title} (HTTP ${info.status})`,
      "",
      info.explanation,
      "",
      `Example detail: ${info.example}`,
      "",
    ].join("\n");
    return c.text(text, 200, { "Cache-Control": "public, max-age=86400" });
  });
