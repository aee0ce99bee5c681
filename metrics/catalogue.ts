/** The unit CloudWatch stores for a metric; it never converts units. */
export type MetricUnit =
  | "Percent"
  | "Bytes"
  | "Count/Second"
  | "Bytes/Second"
  | "Count"
  | "Seconds"
  /** Performance Insights' load metrics: average active sessions, or sessions per vCPU. */
  | "None";

/** What the catalogue says of one metric; every field is required, so an entry cannot be half. */
export interface MetricEntry {
  label: string;
  unit: MetricUnit;
}

/** The shape every catalogue satisfies: a CloudWatch metric name → its entry. */
export type MetricCatalogue = Record<string, MetricEntry>;

/**
 * The RDS metrics capwatch reads (namespace AWS/RDS, dimension DBInstanceIdentifier), in the
 * order answers list them. The one list: names, labels, units and query ids all derive from it.
 */
const ENTRIES = {
  CPUUtilization: { label: "CPU utilization", unit: "Percent" },
  FreeableMemory: { label: "Freeable memory", unit: "Bytes" },
  ReadIOPS: { label: "Read IOPS", unit: "Count/Second" },
  WriteIOPS: { label: "Write IOPS", unit: "Count/Second" },
  ReadThroughput: { label: "Read throughput", unit: "Bytes/Second" },
  WriteThroughput: { label: "Write throughput", unit: "Bytes/Second" },
  FreeStorageSpace: { label: "Free storage space", unit: "Bytes" },
  DatabaseConnections: { label: "Database connections", unit: "Count" },
  ReadLatency: { label: "Read latency", unit: "Seconds" },
  WriteLatency: { label: "Write latency", unit: "Seconds" },
  DiskQueueDepth: { label: "Disk queue depth", unit: "Count" },
  NetworkReceiveThroughput: { label: "Network receive throughput", unit: "Bytes/Second" },
  NetworkTransmitThroughput: { label: "Network transmit throughput", unit: "Bytes/Second" },
  SwapUsage: { label: "Swap usage", unit: "Bytes" },
  // Published by Performance Insights only while it is on and the instance has load.
  DBLoad: { label: "DB load", unit: "None" },
  DBLoadCPU: { label: "DB load CPU", unit: "None" },
  DBLoadNonCPU: { label: "DB load non-CPU", unit: "None" },
  DBLoadRelativeToNumVCPUs: { label: "DB load per vCPU", unit: "None" },
} as const satisfies MetricCatalogue;

/** One of the catalogue's CloudWatch metric names. */
export type MetricType = keyof typeof ENTRIES;

/** Every catalogue metric name, in catalogue order. */
export const METRIC_TYPES = Object.keys(ENTRIES) as [MetricType, ...MetricType[]];

/** How a metric is shown and queried. */
export interface MetricInfo extends MetricEntry {
  type: MetricType;
  /** The MetricDataQuery Id: unique per call, `^[a-z]\w*$` (the name in snake case). */
  queryId: string;
}

/** "CPUUtilization" → "cpu_utilization", "ReadIOPS" → "read_iops". */
export const queryIdOf = (type: string) =>
  type.replace(/([a-z])([A-Z])|([A-Z])([A-Z][a-z])/g, "$1$3_$2$4").toLowerCase();

/** Every catalogue metric by name, in catalogue order. */
export const CATALOGUE: Readonly<Record<MetricType, MetricInfo>> = Object.freeze(
  Object.fromEntries(
    METRIC_TYPES.map((type) => [type, { type, ...ENTRIES[type], queryId: queryIdOf(type) }]),
  ) as Record<MetricType, MetricInfo>,
);

/** The catalogue entry of a metric. */
export function metricInfo(type: MetricType): MetricInfo {
  return CATALOGUE[type];
}

/** The metric whose MetricDataQuery Id is `queryId`, if any. */
export function metricTypeForQueryId(queryId: string): MetricType | undefined {
  return byQueryId.get(queryId);
}

const byQueryId = new Map(METRIC_TYPES.map((type) => [CATALOGUE[type].queryId, type]));

// MyCRT named metrics by their label words in capitals ("CPU UTILIZATION"); we accept those
// words joined by spaces or underscores in any case, besides the CloudWatch name itself.
const byName = new Map<string, MetricType>();
for (const type of METRIC_TYPES) {
  const words = CATALOGUE[type].label.toLowerCase().split(" ");
  for (const name of [type.toLowerCase(), words.join(" "), words.join("_")]) byName.set(name, type);
}

/** The metric named by `input`: a CloudWatch name in any case, or an old MyCRT alias. */
export function resolveMetricType(input: string): MetricType | undefined {
  return byName.get(input.trim().replace(/\s+/g, " ").toLowerCase());
}

// CloudWatch stores DB load as "None"; a reader needs what it counts (AWS RDS User Guide,
// "Database load": average active sessions).
const DISPLAY_UNITS: Record<string, string> = {
  DBLoad: "sessions",
  DBLoadCPU: "sessions",
  DBLoadNonCPU: "sessions",
  DBLoadRelativeToNumVCPUs: "sessions per vCPU",
};

/** The unit shown on chart axes and CSV headers: `unit` (CloudWatch's), or what DB load counts. */
export function displayUnit(type: string, unit: string): string {
  return DISPLAY_UNITS[type] ?? unit;
}
