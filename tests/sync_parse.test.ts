import assert from "node:assert/strict";
import { z } from "@hono/zod-openapi";
import { CreateCapture } from "../openapi/schemas/capture.ts";
import { parsedSynchronously } from "../openapi/sync_parse.ts";

// Bodies that pass and bodies that fail each kind of check CreateCapture has: its fields' types
// and bounds, the name's normalisation and rules, strictness, and the cross-field refinements.
const BODIES: unknown[] = [
  { name: "  black-friday  ", envId: 1, duration: 3600 },
  { name: "peak", envId: 1, status: "SCHEDULED", scheduledStart: "2026-01-15T10:00:00Z" },
  { name: "past", envId: 1, start: "2026-01-15T10:00:00+02:00", duration: 60 },
  {},
  { name: "", envId: 0, duration: 59 },
  { name: "x\u200b", envId: 1.5, duration: 2_592_001 },
  { name: "a", envId: 1, start: "2026-01-15T10:00:00", extra: true },
  { name: "a", envId: 1, status: "SCHEDULED" },
  { name: "a", envId: 1, status: "RUNNING", start: "1960-01-01T00:00:00Z", scheduledStart: "x" },
  { name: 5, envId: "1", duration: null },
  null,
  [],
  "text",
];

Deno.test("CreateCapture's safeParseAsync answers exactly as zod's async parse", async () => {
  for (const body of BODIES) {
    assert.deepEqual(
      await CreateCapture.safeParseAsync(body),
      await z.safeParseAsync(CreateCapture, body),
      JSON.stringify(body),
    );
  }
});

Deno.test("parsedSynchronously refuses, as zod's sync parse does, a schema with async checks", async () => {
  const schema = parsedSynchronously(z.string().refine(() => Promise.resolve(true)));
  await assert.rejects(() => schema.safeParseAsync("x"), /asynchronous|async/i);
});
