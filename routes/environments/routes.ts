import { createRoute, z } from "@hono/zod-openapi";
import { requireUser } from "../../http/require_user.ts";
import { requireJsonBody } from "../json_body.ts";
import { idempotent } from "../idempotency.ts";
import {
  idempotentProblems,
  json,
  jsonBody,
  notModified,
  problems,
  withETag,
} from "../../openapi/helpers.ts";
import { IdParams, NextPageLink, pageQuery } from "../../openapi/schemas/common.ts";
import {
  ETagHeader,
  IdempotencyHeaders,
  IdempotentReplayedHeader,
  IfMatchHeaders,
  IfNoneMatchHeaders,
} from "../../openapi/schemas/headers.ts";
import {
  CreateEnvironment,
  Environment,
  UpdateEnvironment,
} from "../../openapi/schemas/environment.ts";

const tags = ["Environments"];
const security = [{ bearerAuth: [] }];

export const list = createRoute({
  method: "get",
  path: "/api/environments",
  tags,
  security,
  middleware: [requireUser] as const,
  operationId: "listEnvironments",
  summary: "List environments",
  description:
    "Every environment the caller is a member of, with the caller's role in each, oldest first. The next page's URL is in the `Link: <…>; rel=\"next\"` header.",
  request: { query: z.object(pageQuery()) },
  responses: {
    200: {
      ...json(z.array(Environment), "One page of the caller's environments"),
      headers: NextPageLink,
    },
    ...problems(400, 401, 503),
  },
});

export const create = createRoute({
  method: "post",
  path: "/api/environments",
  tags,
  security,
  middleware: [requireUser, requireJsonBody, idempotent] as const,
  operationId: "createEnvironment",
  summary: "Register an environment",
  description:
    "Registers an RDS MySQL instance. The caller becomes its first admin and its owner; names are unique per owner (409 when the caller already owns one of that name). Credentials are optional; without them the server-wide AWS credentials are used for CloudWatch, for instances the operator allowed (AWS_INSTANCE_ALLOWLIST, else 403), each bound to one such environment (else 409). 429 when the caller owns QUOTA_ENVIRONMENTS_PER_USER environments.",
  request: {
    headers: IdempotencyHeaders,
    body: jsonBody(CreateEnvironment, "The environment to register"),
  },
  responses: {
    201: {
      ...json(Environment, "The new environment"),
      headers: z.object({
        Location: z.string().openapi({ example: "/api/environments/1" }),
        ETag: ETagHeader,
        "Idempotent-Replayed": IdempotentReplayedHeader,
      }),
    },
    ...idempotentProblems(400, 401, 403, 409, 413, 415, 422, 429, 503),
  },
});

export const get = createRoute({
  method: "get",
  path: "/api/environments/{id}",
  tags,
  security,
  middleware: [requireUser] as const,
  operationId: "getEnvironment",
  summary: "Get an environment",
  description:
    "Answers 404 when the caller is not a member. The `ETag` answers If-None-Match (304) and If-Match on PATCH and DELETE.",
  request: { params: IdParams, headers: IfNoneMatchHeaders },
  responses: {
    200: withETag(json(Environment, "The environment")),
    304: notModified("Not modified: If-None-Match names the current ETag"),
    ...problems(400, 401, 404, 503),
  },
});

export const update = createRoute({
  method: "patch",
  path: "/api/environments/{id}",
  tags,
  security,
  middleware: [requireUser, requireJsonBody] as const,
  operationId: "updateEnvironment",
  summary: "Change an environment",
  description:
    "Admins only. `credentials: null` removes the environment's own credentials. With `If-Match`, 412 unless the environment still has that ETag. Names are unique per owner.",
  request: {
    params: IdParams,
    headers: IfMatchHeaders,
    body: jsonBody(UpdateEnvironment, "The fields to change"),
  },
  responses: {
    200: withETag(json(Environment, "The changed environment")),
    ...problems(400, 401, 403, 404, 409, 412, 413, 415, 503),
  },
});

export const remove = createRoute({
  method: "delete",
  path: "/api/environments/{id}",
  tags,
  security,
  middleware: [requireUser] as const,
  operationId: "deleteEnvironment",
  summary: "Delete an environment",
  description:
    "Admins only. Deletes its memberships, captures and stored metrics too. With `If-Match`, 412 unless the environment still has that ETag.",
  request: { params: IdParams, headers: IfMatchHeaders },
  responses: {
    204: { description: "Deleted" },
    ...problems(400, 401, 403, 404, 409, 412, 413, 503),
  },
});
