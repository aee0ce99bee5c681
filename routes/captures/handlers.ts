import { answerEmpty, answerJson, answerJsonText } from "../../http/answer.ts";
import { nextPageLink } from "../../http/link.ts";
import { ifNoneMatchHits, parseETagCondition } from "../../http/etag.ts";
import { type AppRouteHandler, checkDeclaredHeaders } from "../../http/router.ts";
import { IfNoneMatchHeaders } from "../../openapi/schemas/headers.ts";
import * as operations from "../../operations/captures.ts";
import { refusalProblem } from "../refusal.ts";
import { loadDeps } from "../aws_deps.ts";
import { listBodiesOf } from "./_list_body.ts";
import { captureAnswer } from "./_one_body.ts";
import { presentCapture } from "./_present.ts";
import type * as routes from "./routes.ts";

// Each handler: the validated request → one operation → its capture, or the shared refusal map.

/** The request's If-Match, parsed (undefined when absent). */
const ifMatch = (c: { req: { header(name: string): string | undefined } }) =>
  parseETagCondition(c.req.header("if-match"));

const parseTime = (iso: string | undefined) => iso === undefined ? undefined : Date.parse(iso);

export const list: AppRouteHandler<typeof routes.list> = async (c) => {
  const query = c.req.valid("query");
  const deps = c.get("deps");
  const userId = c.get("userId");
  const now = deps.clock().getTime();
  const outcome = await operations.listCaptures(deps.db, {
    userId,
    envId: query.envId,
    name: query.name,
    statuses: query.status,
    cursor: query.cursor,
    limit: query.limit,
    now,
  });
  if (!outcome.ok) return refusalProblem(c, outcome);
  const body = listBodiesOf(deps.db).body(outcome.page, now);
  return answerJsonText<ReturnType<typeof presentCapture>[]>(
    c,
    body,
    200,
    nextPageLink(c, outcome.next),
  );
};

export const get: AppRouteHandler<typeof routes.get> = async (c) => {
  // Its If-None-Match is checked here, not by the validator (routes/captures/mod.ts).
  const checked = checkDeclaredHeaders(c, IfNoneMatchHeaders);
  if (!checked.ok) return checked.answer;
  const outcome = await operations.readCapture(
    c.get("deps").db,
    c.req.valid("param").id,
    c.get("userId"),
  );
  if (!outcome.ok) return refusalProblem(c, outcome);
  const { body, etag } = captureAnswer(outcome.capture, c.get("deps").clock().getTime());
  if (ifNoneMatchHits(parseETagCondition(checked.headers["If-None-Match"]), etag)) {
    return answerEmpty(c, 304, { ETag: etag });
  }
  return answerJsonText<ReturnType<typeof presentCapture>>(c, body, 200, { ETag: etag });
};

export const create: AppRouteHandler<typeof routes.create> = async (c) => {
  const body = c.req.valid("json");
  const deps = c.get("deps");
  const now = deps.clock().getTime();
  const outcome = await operations.createCapture(
    deps.db,
    c.get("userId"),
    {
      envId: body.envId,
      name: body.name,
      start: parseTime(body.start),
      scheduledStart: parseTime(body.scheduledStart),
      duration: body.duration ?? null,
    },
    now,
    {
      perEnvironment: deps.config.quotas.capturesPerEnvironment,
      runningPerEnvironment: deps.config.quotas.runningCapturesPerEnvironment,
    },
  );
  if (!outcome.ok) return refusalProblem(c, outcome);
  // A capture starting now is checked against RDS after the write (FAILED if the instance is gone).
  const capture = await operations.checkStartedCapture(loadDeps(deps), outcome.capture, now);
  // Built whole (http/answer.ts), as a GET's answer is: the same headers and body.
  return answerJson(c, presentCapture(capture, now), 201, {
    Location: `/api/captures/${capture.id}`,
    ETag: operations.captureETag(capture, now),
  });
};

export const put: AppRouteHandler<typeof routes.put> = async (c) => {
  const body = c.req.valid("json");
  const now = c.get("deps").clock().getTime();
  const outcome = await operations.editCapture(
    c.get("deps").db,
    c.req.valid("param").id,
    c.get("userId"),
    {
      name: body.name,
      scheduledStart: parseTime(body.scheduledStart),
      duration: body.duration,
    },
    now,
    ifMatch(c),
    c.get("deps").config.quotas.runningCapturesPerEnvironment,
  );
  if (!outcome.ok) return refusalProblem(c, outcome);
  c.header("ETag", operations.captureETag(outcome.capture, now));
  return c.json(presentCapture(outcome.capture, now), 200);
};

export const patch: AppRouteHandler<typeof routes.patch> = put;

export const stop: AppRouteHandler<typeof routes.stop> = async (c) => {
  const now = c.get("deps").clock().getTime();
  const outcome = await operations.stopCapture(
    c.get("deps").db,
    c.req.valid("param").id,
    c.get("userId"),
    now,
    ifMatch(c),
  );
  if (!outcome.ok) return refusalProblem(c, outcome);
  c.header("ETag", operations.captureETag(outcome.capture, now));
  return c.json(presentCapture(outcome.capture, now), 200);
};

export const remove: AppRouteHandler<typeof routes.remove> = async (c) => {
  const { id } = c.req.valid("param");
  const outcome = await operations.deleteCapture(
    c.get("deps").db,
    id,
    c.get("userId"),
    c.get("deps").clock().getTime(),
    ifMatch(c),
  );
  if (!outcome.ok) return refusalProblem(c, outcome);
  return c.body(null, 204);
};
