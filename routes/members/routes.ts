import { createRoute, z } from "@hono/zod-openapi";
import { requireUser } from "../../http/require_user.ts";
import { requireJsonBody } from "../json_body.ts";
import { wellEncodedPath } from "../path_encoding.ts";
import { json, jsonBody, problems } from "../../openapi/helpers.ts";
import { IdParams, NextPageLink, pageQuery } from "../../openapi/schemas/common.ts";
import { Member, MemberParams, PutMember } from "../../openapi/schemas/environment.ts";

const tags = ["Members"];
// A members cursor carries a user id (up to 255 characters of UTF-8) in base64.
const MEMBER_CURSOR_MAX = 1400;
const security = [{ bearerAuth: [] }];

export const list = createRoute({
  method: "get",
  path: "/api/environments/{id}/members",
  tags,
  security,
  middleware: [requireUser] as const,
  operationId: "listMembers",
  summary: "List an environment's members",
  description:
    'Any member may read the member list: admins first, then by user id. The next page\'s URL is in the `Link: <…>; rel="next"` header.',
  request: { params: IdParams, query: z.object(pageQuery(MEMBER_CURSOR_MAX)) },
  responses: {
    200: {
      ...json(z.array(Member), "One page of the members, admins first"),
      headers: NextPageLink,
    },
    ...problems(400, 401, 404, 503),
  },
});

export const put = createRoute({
  method: "put",
  path: "/api/environments/{id}/members/{userId}",
  tags,
  security,
  middleware: [requireUser, wellEncodedPath, requireJsonBody] as const,
  operationId: "putMember",
  summary: "Add a member or change a role",
  description:
    "Admins only. Demoting the last admin answers 409: an environment always keeps at least one admin.",
  request: { params: MemberParams, body: jsonBody(PutMember, "The member's role") },
  responses: {
    200: json(Member, "The role was changed"),
    201: {
      ...json(Member, "The member was added"),
      headers: z.object({
        Location: z.string().openapi({
          description: "The new member",
          example: "/api/environments/1/members/user-2",
        }),
      }),
    },
    ...problems(400, 401, 403, 404, 409, 413, 415, 503),
  },
});

export const remove = createRoute({
  method: "delete",
  path: "/api/environments/{id}/members/{userId}",
  tags,
  security,
  middleware: [requireUser, wellEncodedPath] as const,
  operationId: "deleteMember",
  summary: "Remove a member",
  description:
    "Admins remove anyone; any member may remove themselves (leave). Removing the last admin answers 409.",
  request: { params: MemberParams },
  responses: {
    204: { description: "Removed" },
    ...problems(400, 401, 403, 404, 409, 413, 503),
  },
});
