import assert from "node:assert/strict";
import { PROBLEM_KINDS, type ProblemKind } from "../../openapi/problem_types.ts";

/** Asserts an RFC 9457 problem response with `status`; returns its body. */
export async function assertProblem(res: Response, status: number) {
  const text = await res.text();
  assert.equal(res.status, status, `expected ${status}, got ${res.status}: ${text}`);
  assert.match(res.headers.get("content-type") ?? "", /^application\/problem\+json/);
  const body = JSON.parse(text);
  assert.equal(body.status, status);
  assert.equal(typeof body.title, "string");
  assert.equal(typeof body.detail, "string");
  // Every problem names a kind from the catalogue whose status it answers with.
  const kind = /^\/problems\/([a-z-]+)$/.exec(body.type)?.[1] as ProblemKind | undefined;
  assert.ok(kind && Object.hasOwn(PROBLEM_KINDS, kind), `unknown problem type ${body.type}`);
  assert.equal(PROBLEM_KINDS[kind].status, status, `${body.type} with status ${status}`);
  return body as {
    type: string;
    title: string;
    status: number;
    detail: string;
    errors?: { path: string; message: string }[];
  };
}
