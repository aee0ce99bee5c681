/** CSV (RFC 4180) of a capture's metrics and of a comparison: one row a time, one column a series. */
import { stringify } from "csv-stringify/sync";
import type { CaptureMetrics } from "./capture_metrics.ts";
import type { Comparison } from "./compare.ts";
import { displayUnit } from "./catalogue.ts";

/** The media type of the CSV answers, with the header row declared (RFC 4180 §3). */
export const CSV_MEDIA_TYPE = "text/csv; charset=utf-8; header=present";

/**
 * Rows keyed by `key` (ascending) with one cell per column; a column without a value at that key
 * is left empty. Numbers are written as JavaScript's shortest round-trip form, so parsing a cell
 * gives back the exact value.
 */
function table(
  header: string[],
  columns: Array<Array<{ key: number; value: number }>>,
  formatKey: (key: number) => string,
): string {
  const keys = [...new Set(columns.flatMap((points) => points.map((p) => p.key)))]
    .sort((a, b) => a - b);
  const byKey = columns.map((points) => new Map(points.map((p) => [p.key, p.value])));
  const rows = keys.map((key) => [
    formatKey(key),
    ...byKey.map((values) => values.has(key) ? String(values.get(key)) : ""),
  ]);
  // CRLF records (RFC 4180 §2.1); any field with a line break, comma or quote is quoted.
  return stringify([header, ...rows], { record_delimiter: "windows", quoted_match: /[\r\n]/ });
}

/** `timestamp,<type> (<unit>),…` then one row per UTC timestamp (ISO-8601). */
export function metricsCsv(metrics: CaptureMetrics): string {
  return table(
    ["timestamp", ...metrics.series.map((s) => `${s.type} (${displayUnit(s.type, s.unit)})`)],
    metrics.series.map((s) =>
      s.datapoints.map((p) => ({ key: Date.parse(p.timestamp), value: p.value }))
    ),
    (ms) => new Date(ms).toISOString(),
  );
}

/** `offset_seconds,<type> baseline (<unit>),<type> candidate (<unit>),…` then one row per offset. */
export function comparisonCsv(comparison: Comparison): string {
  return table(
    [
      "offset_seconds",
      ...comparison.series.flatMap((s) => [
        `${s.type} baseline (${displayUnit(s.type, s.unit)})`,
        `${s.type} candidate (${displayUnit(s.type, s.unit)})`,
      ]),
    ],
    comparison.series.flatMap((s) => [
      s.baseline.datapoints.map((p) => ({ key: p.offset, value: p.value })),
      s.candidate.datapoints.map((p) => ({ key: p.offset, value: p.value })),
    ]),
    String,
  );
}
