import assert from "node:assert/strict";

/** Asserts an RFC 9457 problem response with `status`; returns its body. */
export async function assertProblem(res: Response, status: number) {
  const text = await res.text();
  assert.equal(res.status, status, `expected ${status}, got ${res.status}: ${text}`);
  assert.match(res.headers.get("content-type") ?? "", /^application\/problem\+json/);
  const body = JSON.parse(text);
  assert.equal(body.status, status);
  assert.equal(typeof body.title, "string");
  assert.equal(typeof body.detail, "string");
  return body as {
    type: string;
    title: string;
    status: number;
    detail: string;
    errors?: { path: string; message: string }[];
  };
}
