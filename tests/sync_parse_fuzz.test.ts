import assert from "node:assert/strict";
import { z } from "@hono/zod-openapi";
import { CreateCapture } from "../openapi/schemas/capture.ts";

// Review 6: CreateCapture's synchronous safeParseAsync (openapi/sync_parse.ts) against zod's async
// parse on generated bodies (every combination of the fields with valid, invalid and hostile
// values, as JSON.parse would hand them over): same success, data, issues and message.
const VALUES: unknown[] = [
  null,
  true,
  0,
  -1,
  1,
  1.5,
  2 ** 53,
  "",
  " ",
  "a",
  "SCHEDULED",
  "RUNNING",
  "STARTED",
  "STARTING",
  "DONE",
  "2026-01-15T10:00:00Z",
  "2099-01-15T10:00:00Z",
  "1960-01-01T00:00:00Z",
  "2026-01-15T10:00:00",
  "x".repeat(101),
  "\u200b",
  "a\u0000b",
  [],
  {},
  [1],
  { a: 1 },
  60,
  59,
  3600,
  2_592_001,
  "60",
];
const KEYS = [
  "name",
  "envId",
  "status",
  "start",
  "scheduledStart",
  "duration",
  "extra",
  "__proto__",
  "constructor",
  "toString",
];

Deno.test("CreateCapture's sync safeParseAsync matches zod's async parse on generated bodies", async () => {
  let seed = 6;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let i = 0; i < 5000; i++) {
    const parts = KEYS.filter(() => random() < 0.5)
      .map((k) =>
        `${JSON.stringify(k)}:${JSON.stringify(VALUES[Math.floor(random() * VALUES.length)])}`
      );
    const body = JSON.parse(`{${parts.join(",")}}`);
    const show = (r: Awaited<ReturnType<typeof CreateCapture.safeParseAsync>>) =>
      JSON.stringify(r.success ? r : { issues: r.error.issues, message: r.error.message });
    assert.equal(
      show(await CreateCapture.safeParseAsync(body)),
      show(await z.safeParseAsync(CreateCapture, body)),
      `{${parts.join(",")}}`,
    );
  }
});
