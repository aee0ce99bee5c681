import { createRoute, z } from "@hono/zod-openapi";
import { requireUser } from "../../auth/require_user.ts";
import { requireJsonBody } from "../json_body.ts";
import { idempotent } from "../idempotency.ts";
import { IdempotencyHeaders } from "../../openapi/schemas/headers.ts";
import { json, jsonBody, problems } from "../../openapi/helpers.ts";
import { IdParams } from "../../openapi/schemas/common.ts";
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
  description: "Every environment the caller is a member of, with the caller's role in each.",
  responses: {
    200: json(z.array(Environment), "The caller's environments"),
    ...problems(401, 503),
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
    "Registers an RDS MySQL instance. The caller becomes its first admin. Credentials are optional; without them the server-wide AWS credentials are used for CloudWatch.",
  request: {
    headers: IdempotencyHeaders,
    body: jsonBody(CreateEnvironment, "The environment to register"),
  },
  responses: {
    201: {
      ...json(Environment, "The new environment"),
      headers: z.object({ Location: z.string().openapi({ example: "/api/environments/1" }) }),
    },
    ...problems(400, 401, 409, 413, 415, 422, 503),
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
  description: "Answers 404 when the caller is not a member.",
  request: { params: IdParams },
  responses: {
    200: json(Environment, "The environment"),
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
  description: "Admins only. `credentials: null` removes the environment's own credentials.",
  request: { params: IdParams, body: jsonBody(UpdateEnvironment, "The fields to change") },
  responses: {
    200: json(Environment, "The changed environment"),
    ...problems(400, 401, 403, 404, 409, 413, 415, 503),
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
  description: "Admins only. Deletes its memberships, captures and stored metrics too.",
  request: { params: IdParams },
  responses: {
    204: { description: "Deleted" },
    ...problems(400, 401, 403, 404, 413, 503),
  },
});
