import { createRoute, z } from "@hono/zod-openapi";
import { metricsRateLimit } from "../rate_limit.ts";
import { requireUser } from "../../http/require_user.ts";
import { requireJsonBody } from "../json_body.ts";
import {
  idempotentProblems,
  json,
  jsonBody,
  jsonOrCsv,
  notModified,
  problems,
  RATE_LIMIT_HEADERS,
  withETag,
} from "../../openapi/helpers.ts";
import {
  Capture,
  CaptureIdParams,
  CreateCapture,
  ListCapturesQuery,
  UpdateCapture,
} from "../../openapi/schemas/capture.ts";
import { CaptureMetrics, MetricsQuery } from "../../openapi/schemas/metrics.ts";
import { CaptureLoad, LoadQuery, SqlText, SqlTextParams } from "../../openapi/schemas/load.ts";
import { NextPageLink } from "../../openapi/schemas/common.ts";
import {
  ETagHeader,
  IdempotencyHeaders,
  IdempotentReplayedHeader,
  IfMatchHeaders,
  IfNoneMatchHeaders,
} from "../../openapi/schemas/headers.ts";
import { idempotent } from "../idempotency.ts";

const tags = ["Captures"];
const security = [{ bearerAuth: [] }];

export const list = createRoute({
  method: "get",
  path: "/api/captures",
  tags,
  security,
  middleware: [requireUser] as const,
  operationId: "listCaptures",
  summary: "Get all captures",
  description:
    'Captures of every environment you are a member of, newest first. The next page\'s URL is in the `Link: <…>; rel="next"` header.',
  request: { query: ListCapturesQuery },
  responses: {
    200: {
      ...json(z.array(Capture), "One page of captures"),
      headers: NextPageLink,
    },
    ...problems(400, 401, 404, 503),
  },
});

export const get = createRoute({
  method: "get",
  path: "/api/captures/{id}",
  tags,
  security,
  middleware: [requireUser] as const,
  operationId: "getCapture",
  summary: "Get a specific capture",
  description:
    "Answers 404 when you are not a member of the capture's environment. The ETag changes whenever the capture does (including its status moving on with time); send it in If-None-Match for a 304, or in If-Match with a change.",
  request: { params: CaptureIdParams, headers: IfNoneMatchHeaders },
  responses: {
    200: withETag(json(Capture, "The capture")),
    304: notModified("Not modified: the ETag in If-None-Match is still current"),
    ...problems(400, 401, 404, 503),
  },
});

export const create = createRoute({
  method: "post",
  path: "/api/captures",
  tags,
  security,
  middleware: [requireUser, requireJsonBody, idempotent] as const,
  operationId: "createCapture",
  summary: "Post a new capture",
  description:
    "Starts a capture now, schedules one (`scheduledStart` in the future), or backfills a past window (`start` in the past; DONE at once when `start + duration` is past). Names are unique within an environment. 429 when the environment has QUOTA_CAPTURES_PER_ENVIRONMENT captures, or when its window (from now on; open-ended: to infinity) would overlap QUOTA_RUNNING_CAPTURES_PER_ENVIRONMENT other captures, scheduled ones included.",
  request: {
    headers: IdempotencyHeaders,
    body: jsonBody(CreateCapture, "The capture to create"),
  },
  responses: {
    201: {
      ...json(Capture, "The new capture"),
      headers: z.object({
        Location: z.string().openapi({
          description: "The new capture's URL",
          example: "/api/captures/42",
        }),
        ETag: ETagHeader,
        "Idempotent-Replayed": IdempotentReplayedHeader,
      }),
    },
    ...idempotentProblems(400, 401, 404, 409, 413, 415, 422, 429, 503),
  },
});

const update = (method: "put" | "patch", operationId: string) =>
  createRoute({
    method,
    path: "/api/captures/{id}",
    tags,
    security,
    middleware: [requireUser, requireJsonBody] as const,
    operationId,
    summary: method === "put" ? "Edit a capture" : "Edit a capture (PATCH)",
    description:
      "Rename any capture; move `scheduledStart` while SCHEDULED; change `duration` while SCHEDULED or RUNNING (the new end may not be in the past). The capture's owner or an environment admin only. 429 when the moved window would overlap QUOTA_RUNNING_CAPTURES_PER_ENVIRONMENT other captures.",
    request: {
      params: CaptureIdParams,
      headers: IfMatchHeaders,
      body: jsonBody(UpdateCapture, "The fields to change; at least one"),
    },
    responses: {
      200: withETag(json(Capture, "The edited capture")),
      ...problems(400, 401, 403, 404, 409, 412, 413, 415, 429, 503),
    },
  });

export const put = update("put", "updateCapture");
export const patch = update("patch", "patchCapture");

export const stop = createRoute({
  method: "post",
  path: "/api/captures/{id}/stop",
  tags,
  security,
  middleware: [requireUser, idempotent] as const,
  operationId: "stopCapture",
  summary: "Stop a capture",
  description:
    "Ends a RUNNING capture now. Other statuses answer 409 (cancel a SCHEDULED one with DELETE). The capture's owner or an environment admin only.",
  request: { params: CaptureIdParams, headers: IdempotencyHeaders.extend(IfMatchHeaders.shape) },
  responses: {
    200: {
      ...json(Capture, "The capture, now DONE"),
      headers: z.object({ ETag: ETagHeader, "Idempotent-Replayed": IdempotentReplayedHeader }),
    },
    ...idempotentProblems(400, 401, 403, 404, 409, 412, 413, 422, 503),
  },
});

export const remove = createRoute({
  method: "delete",
  path: "/api/captures/{id}",
  tags,
  security,
  middleware: [requireUser] as const,
  operationId: "deleteCapture",
  summary: "Delete a capture",
  description:
    "Deletes a capture in any status, with its stored metrics. The capture's owner or an environment admin only.",
  request: { params: CaptureIdParams, headers: IfMatchHeaders },
  responses: {
    204: { description: "Deleted" },
    ...problems(400, 401, 403, 404, 412, 413, 503),
  },
});

export const metrics = createRoute({
  method: "get",
  path: "/api/captures/{id}/metrics",
  tags,
  security,
  middleware: [requireUser, metricsRateLimit] as const,
  operationId: "getCaptureMetrics",
  summary: "Get metrics for a capture",
  description:
    "The CloudWatch data (namespace AWS/RDS) of the capture's window for its environment's DB instance, in one GetMetricData call, or from the snapshot stored after the capture ended. A SCHEDULED capture answers 409, as does an environment without AWS credentials. Upstream trouble: 502 (bad answer), 503 with Retry-After (throttled), 504 (timed out). Each user may make QUOTA_METRICS_REQUESTS_PER_MINUTE of these a minute (all instances together); RateLimit-Policy and RateLimit say where the caller stands, and past the limit 429 with Retry-After.",
  request: { params: CaptureIdParams, query: MetricsQuery },
  responses: {
    200: {
      ...jsonOrCsv(CaptureMetrics, "The capture's metrics; `Accept: text/csv` gives CSV"),
      headers: RATE_LIMIT_HEADERS,
    },
    ...problems(400, 401, 404, 409, 429, 502, 503, 504),
  },
});

export const load = createRoute({
  method: "get",
  path: "/api/captures/{id}/load",
  tags,
  security,
  middleware: [requireUser, metricsRateLimit] as const,
  operationId: "getCaptureLoad",
  summary: "Get database load for a capture",
  description:
    "Performance Insights' db.load.avg (average active sessions) over the capture's window, in total and for the top `limit` waits, SQL digests, users or hosts, with each group's share; SQL digests carry per-call statistics. A capture that ended answers from the load stored then (`source: snapshot`, no AWS call). 409 when the capture has not started, Performance Insights is off for the instance or no longer has the window, or the instance is unknown to RDS. Upstream trouble: 502, 503 with Retry-After, 504. Counts against QUOTA_METRICS_REQUESTS_PER_MINUTE like the metrics (RateLimit headers; 429 with Retry-After past it).",
  request: { params: CaptureIdParams, query: LoadQuery },
  responses: {
    200: { ...json(CaptureLoad, "The capture's database load"), headers: RATE_LIMIT_HEADERS },
    ...problems(400, 401, 404, 409, 429, 502, 503, 504),
  },
});

export const sqlText = createRoute({
  method: "get",
  path: "/api/captures/{id}/sql/{digestId}",
  tags,
  security,
  middleware: [requireUser, metricsRateLimit] as const,
  operationId: "getCaptureSqlText",
  summary: "Get the full text of a SQL digest's statement",
  description:
    "One statement of the digest seen during the capture, in full (Performance Insights GetDimensionKeyDetails; the load answer cuts statements short). 404 when Performance Insights saw no statement of the digest in the window. Counts against QUOTA_METRICS_REQUESTS_PER_MINUTE like the metrics (RateLimit headers; 429 with Retry-After past it).",
  request: { params: SqlTextParams },
  responses: {
    200: { ...json(SqlText, "The statement"), headers: RATE_LIMIT_HEADERS },
    ...problems(400, 401, 404, 409, 429, 502, 503, 504),
  },
});
