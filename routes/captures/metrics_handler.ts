import { readCaptureMetricsFor } from "../../operations/captures.ts";
import type { AppRouteHandler } from "../../http/router.ts";
import { refusalProblem } from "../refusal.ts";
import type * as routes from "./routes.ts";

export const metrics: AppRouteHandler<typeof routes.metrics> = async (c) => {
  const deps = c.var.deps;
  const { id } = c.req.valid("param");
  const { type: types, stat, period } = c.req.valid("query");
  const outcome = await readCaptureMetricsFor(
    {
      db: deps.db,
      cloudwatch: deps.cloudwatch,
      serverCredentials: deps.config.awsCredentials,
      cipher: deps.credentialsCipher,
      credentials: deps.credentialProvider,
    },
    id,
    c.var.userId,
    { types, stat, period },
    deps.clock(),
  );
  if (!outcome.ok) return refusalProblem(c, outcome);
  // CloudWatch's remarks (partial data, pages left unread) are for operators, not the body.
  if (outcome.messages.length > 0) {
    deps.logger.warn("cloudwatch messages", {
      requestId: c.var.requestId,
      captureId: id,
      messages: outcome.messages,
    });
  }
  return c.json(outcome.metrics, 200);
};
