import { z } from "@hono/zod-openapi";
import {
  displayName,
  nameFilter,
  pageQuery,
  pathInteger,
  queryInteger,
  queryList,
  queryText,
  Timestamp,
} from "./common.ts";
import { CAPTURE_STATUSES } from "../../vocabulary.ts";
import { parsedSynchronously } from "../sync_parse.ts";

export const CaptureStatus = z.enum(CAPTURE_STATUSES).openapi("CaptureStatus", {
  description: "SCHEDULED → RUNNING → DONE; FAILED carries a reason",
});

// Outside years 0–9999 toISOString writes "+010000-…" or "-000001-…", which is no date-time; the
// bounds keep every start, end and scheduledEnd (up to 30 days later) we answer within them.
const EARLIEST = Date.UTC(1970, 0, 1);
const LATEST = Date.UTC(9999, 0, 1);

// A date and time with no zone: the commonest slip, so its message says how to fix it.
const LOCAL_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/;

const isoInstant = z.iso.datetime({
  offset: true,
  error: (issue) =>
    typeof issue.input === "string" && LOCAL_TIME.test(issue.input)
      ? `has no time zone: add Z or an offset like +02:00 (e.g. ${issue.input}Z)`
      : "must be an ISO-8601 date-time with Z or an offset, e.g. 2026-01-15T10:00:00Z",
}).refine((value) => {
  const ms = Date.parse(value);
  return ms >= EARLIEST && ms <= LATEST;
}, "must lie between 1970-01-01T00:00:00Z and 9999-01-01T00:00:00Z").openapi({
  format: "date-time",
  example: "2026-01-15T10:00:00Z",
});

const duration = z.number().int().min(60).max(2_592_000).openapi({
  description: "Whole seconds, 60 (one minute) to 2,592,000 (30 days)",
  example: 3600,
});

export const Capture = z.object({
  id: z.number().int().openapi({ example: 42 }),
  envId: z.number().int().openapi({ example: 1 }),
  ownerId: z.string().openapi({ example: "user-1" }),
  name: z.string().openapi({ example: "black-friday-peak" }),
  status: CaptureStatus,
  scheduledStart: Timestamp.nullable().openapi({ description: "When a scheduled capture starts" }),
  scheduledEnd: Timestamp.nullable().openapi({
    description: "When the capture is planned to end (start + duration), or null if open-ended",
  }),
  start: Timestamp.nullable().openapi({ description: "When it started; null while SCHEDULED" }),
  end: Timestamp.nullable().openapi({ description: "When it ended; null until DONE" }),
  duration: z.number().int().nullable().openapi({
    example: 3600,
    description: "Seconds: the planned length, or the actual length once DONE; null if open-ended",
  }),
  reason: z.string().nullable().openapi({ description: "Why it failed, or null", example: null }),
  createdAt: Timestamp,
  updatedAt: Timestamp,
}).openapi("Capture", {
  example: {
    id: 42,
    envId: 1,
    ownerId: "user-1",
    name: "black-friday-peak",
    status: "RUNNING",
    scheduledStart: null,
    scheduledEnd: "2026-01-15T11:00:00.000Z",
    start: "2026-01-15T10:00:00.000Z",
    end: null,
    duration: 3600,
    reason: null,
    createdAt: "2026-01-15T10:00:00.000Z",
    updatedAt: "2026-01-15T10:00:00.000Z",
  },
});

// Validated on every POST: parsed synchronously (openapi/sync_parse.ts).
export const CreateCapture = parsedSynchronously(
  z.object({
    name: displayName(100).openapi({ example: "black-friday-peak" }),
    envId: z.number().int().positive().openapi({ example: 1 }),
    status: z.enum(["SCHEDULED", "RUNNING", "STARTED", "STARTING"]).optional().openapi({
      description:
        "SCHEDULED needs scheduledStart; RUNNING, STARTED and STARTING (the old API's values) start now",
    }),
    start: isoInstant.optional().openapi({
      description: "A past instant backfills a window; the future is refused (use scheduledStart)",
    }),
    scheduledStart: isoInstant.optional().openapi({
      description: "A future instant: the capture is SCHEDULED until then",
      example: "2026-01-15T10:00:00Z",
    }),
    duration: duration.optional(),
  }).strict().superRefine((body, ctx) => {
    if (body.status === "SCHEDULED" && body.scheduledStart === undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["scheduledStart"],
        message: 'status "SCHEDULED" needs a scheduledStart',
      });
    }
    if (body.scheduledStart !== undefined && body.start !== undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["start"],
        message: "send either start (backfill) or scheduledStart (schedule), not both",
      });
    }
    if (body.scheduledStart !== undefined && body.status && body.status !== "SCHEDULED") {
      ctx.addIssue({
        code: "custom",
        path: ["status"],
        message:
          `status "${body.status}" starts now; drop it, or use "SCHEDULED" with scheduledStart`,
      });
    }
  }).openapi("CreateCapture", {
    // Starts a one-hour capture now, so the example works as sent from /docs.
    example: { name: "black-friday-peak", envId: 1, duration: 3600 },
  }),
);

export const UpdateCapture = z.object({
  name: displayName(100).optional().openapi({ example: "black-friday-peak-2" }),
  scheduledStart: isoInstant.optional().openapi({ description: "Only while SCHEDULED" }),
  duration: duration.optional().openapi({
    description: "While SCHEDULED or RUNNING; the new end may not be in the past",
  }),
}).strict().refine((body) => Object.keys(body).length > 0, {
  message: "Send at least one of name, scheduledStart, duration",
  // Only an otherwise valid body is "empty"; an unknown field is reported on its own.
  when: (payload) => payload.issues.length === 0,
}).openapi("UpdateCapture", {
  minProperties: 1,
  example: { name: "black-friday-peak-2", duration: 7200 },
});

export const ListCapturesQuery = z.object({
  envId: queryInteger(z.number().int().positive().optional()).openapi({
    param: { name: "envId", in: "query" },
    description:
      "Only the captures of this environment (its numeric id); leave it out for every environment you are a member of",
  }),
  name: queryText(nameFilter(100).optional()).openapi({
    param: { name: "name", in: "query" },
    description: "Exact name, compared in Unicode NFC",
  }),
  status: queryList(z.array(CaptureStatus).optional()).openapi({
    param: { name: "status", in: "query", style: "form", explode: true },
    description: "Repeatable: ?status=RUNNING&status=SCHEDULED",
    type: "array",
    items: { $ref: "#/components/schemas/CaptureStatus" },
  }),
  ...pageQuery(),
});

// Path ids carry no example: Swagger UI would fill it in and act on a capture nobody picked.
export const CaptureIdParams = z.object({
  id: pathInteger(z.number().int().positive()).openapi({
    param: { name: "id", in: "path" },
    description:
      "The capture's numeric id, in plain digits (its `id`, or the end of the Location POST answered)",
  }),
});
