import { z } from "@hono/zod-openapi";

/** The CSV answer's schema: text with a header row. */
export const CsvText = z.string().openapi({
  description: "RFC 4180 CSV with a header row naming each column's unit",
  example:
    "timestamp,CPUUtilization (Percent),DBLoad (sessions)\r\n2026-01-15T10:00:00.000Z,12.5,1.25\r\n",
});

/** The SVG answer's schema: an image. */
export const SvgImage = z.string().openapi({
  description: "An SVG image with <title> and <desc>",
});
