import assert from "node:assert/strict";
import type { z } from "@hono/zod-openapi";
import type { Capture } from "../../openapi/schemas/capture.ts";
import type { TestContext } from "./context.ts";

/** A capture as the API answers it. */
export type CaptureBody = z.infer<typeof Capture>;

/** The instant capture tests start their clock at. */
export const NOW = "2026-01-01T00:00:00Z";
export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;

/** NOW moved by `offsetMs`, as ISO-8601. */
export const at = (offsetMs: number) => new Date(Date.parse(NOW) + offsetMs).toISOString();

/** POSTs a capture as `user`, expecting 201; returns the response and the capture. */
export async function postCapture(t: TestContext, user: string, body: Record<string, unknown>) {
  const res = await t.as(user).post("/api/captures", body);
  const text = await res.text();
  assert.equal(res.status, 201, text);
  return { res, capture: JSON.parse(text) as CaptureBody };
}
