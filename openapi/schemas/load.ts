import { z } from "@hono/zod-openapi";
import { MAX_LOAD_GROUPS } from "../../metrics/capture_load.ts";
import { LOAD_GROUP_NAMES, LOAD_GROUPS } from "../../vocabulary.ts";
import { pathInteger, queryInteger, queryText, Timestamp } from "./common.ts";

/** The query of GET /api/captures/{id}/load. */
export const LoadQuery = z.object({
  // Defaults are applied here, not declared, so Swagger UI leaves the fields empty.
  groupBy: queryText(z.enum(LOAD_GROUP_NAMES).optional().transform((g) => g ?? "wait")).openapi({
    param: { name: "groupBy", in: "query" },
    description: `How load is broken down: ${
      LOAD_GROUP_NAMES.map((g) => `${g} (${LOAD_GROUPS[g]})`).join(", ")
    }. Default wait.`,
  }),
  limit: queryInteger(
    z.number().int().min(1).max(MAX_LOAD_GROUPS).optional().transform((n) => n ?? 10),
  ).openapi({
    param: { name: "limit", in: "query" },
    description: `The top groups by load, 1–${MAX_LOAD_GROUPS}; default 10`,
  }),
});

/** The path of GET /api/captures/{id}/sql/{digestId}. */
export const SqlTextParams = z.object({
  id: pathInteger(z.number().int().positive()).openapi({
    param: { name: "id", in: "path" },
    description: "The capture's id",
  }),
  digestId: z.string().regex(/^[A-Za-z0-9._-]{1,128}$/, {
    error: "must be a digest id from the load answer (letters, digits, . _ -; at most 128)",
  }).openapi({
    param: { name: "digestId", in: "path" },
    description: "A `key` of GET /api/captures/{id}/load?groupBy=sql (db.sql_tokenized.id)",
  }),
});

const LoadPoint = z.object({
  timestamp: Timestamp,
  value: z.number().openapi({ description: "Average active sessions", example: 1.25 }),
}).openapi("LoadPoint");

const SqlStats = z.object({
  callsPerSecond: z.number().nullable().openapi({ example: 42.5 }),
  latencyMsPerCall: z.number().nullable().openapi({ example: 3.2 }),
  rowsPerCall: z.number().nullable().openapi({
    description: "Rows examined per call (MySQL, MariaDB) or rows per call (PostgreSQL)",
    example: 120,
  }),
}).openapi("SqlStats", {
  description:
    "The digest's statistics from Performance Insights' AdditionalMetrics; null where the engine does not report them",
});

const LoadGroup = z.object({
  key: z.string().openapi({ example: "io/table/sql/handler" }),
  label: z.string().openapi({ example: "io: io/table/sql/handler" }),
  load: z.number().openapi({ description: "Average active sessions over the window" }),
  share: z.number().min(0).max(1).openapi({ description: "load ÷ the total load" }),
  datapoints: z.array(LoadPoint),
  stats: SqlStats.optional().openapi({ description: "groupBy=sql only" }),
  statement: z.string().optional().openapi({
    description:
      "groupBy=sql only: the digest, cut to 200 characters; GET …/sql/{key} gives a full statement",
  }),
}).openapi("LoadGroup");

export const CaptureLoad = z.object({
  captureId: z.number().int().openapi({ example: 42 }),
  start: Timestamp,
  end: Timestamp.openapi({ description: "The capture's end, or now while it runs" }),
  period: z.number().int().openapi({
    description: "Seconds: one of Performance Insights' 60, 300, 3600, 86400, ≤ 1,440 points",
    example: 60,
  }),
  groupBy: z.enum(LOAD_GROUP_NAMES),
  source: z.enum(["performance-insights", "snapshot"]).openapi({
    description: "snapshot: stored when the capture ended (no AWS call)",
  }),
  complete: z.boolean().openapi({ description: "False while running or settling" }),
  total: z.object({
    load: z.number().openapi({ description: "Average active sessions over the window" }),
    datapoints: z.array(LoadPoint),
  }),
  groups: z.array(LoadGroup).openapi({ description: "Top groups by load, largest first" }),
}).openapi("CaptureLoad", {
  example: {
    captureId: 42,
    start: "2026-01-15T10:00:00.000Z",
    end: "2026-01-15T10:30:00.000Z",
    period: 60,
    groupBy: "sql",
    source: "performance-insights",
    complete: true,
    total: { load: 6, datapoints: [{ timestamp: "2026-01-15T10:00:00.000Z", value: 6 }] },
    groups: [{
      key: "DIGEST0AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
      label: "SELECT * FROM orders WHERE customer_id = ?",
      load: 3,
      share: 0.5,
      datapoints: [{ timestamp: "2026-01-15T10:00:00.000Z", value: 3 }],
      stats: { callsPerSecond: 120, latencyMsPerCall: 4.5, rowsPerCall: 250 },
      statement: "SELECT * FROM orders WHERE customer_id = ?",
    }],
  },
});

export const SqlText = z.object({
  captureId: z.number().int().openapi({ example: 42 }),
  digestId: z.string().openapi({ example: "DIGEST0AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" }),
  sqlId: z.string().nullable().openapi({
    description:
      "db.sql.id of one statement of the digest; null when only the kept tokenized text is known",
    example: "sql-DIGEST0AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
  }),
  statement: z.string().openapi({ example: "SELECT * FROM orders WHERE id = 42" }),
  status: z.string().openapi({
    description:
      "AVAILABLE; PROCESSING (Performance Insights has only the truncated text yet); UNAVAILABLE",
    example: "AVAILABLE",
  }),
  source: z.enum(["snapshot", "performance-insights"]).openapi({
    description:
      "snapshot: kept with the capture when it ended (no AWS call); performance-insights: asked now",
    example: "snapshot",
  }),
  truncated: z.boolean().openapi({
    description:
      "True when `statement` is not the full text: the digest's tokenized text kept with the capture (PI no longer has the full text), or PI still PROCESSING",
    example: false,
  }),
}).openapi("SqlText");
