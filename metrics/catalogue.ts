/** The RDS metrics capwatch reads (namespace AWS/RDS, dimension DBInstanceIdentifier). */
export const METRIC_TYPES = [
  "CPUUtilization",
  "FreeableMemory",
  "ReadIOPS",
  "WriteIOPS",
  "ReadThroughput",
  "WriteThroughput",
  "FreeStorageSpace",
  "DatabaseConnections",
  "ReadLatency",
  "WriteLatency",
  "DiskQueueDepth",
  "NetworkReceiveThroughput",
  "NetworkTransmitThroughput",
  "SwapUsage",
  "DBLoad",
  "DBLoadCPU",
  "DBLoadNonCPU",
  "DBLoadRelativeToNumVCPUs",
] as const;

/** One of the catalogue's CloudWatch metric names. */
export type MetricType = typeof METRIC_TYPES[number];

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

/** How a metric is shown and queried. */
export interface MetricInfo {
  type: MetricType;
  label: string;
  unit: MetricUnit;
  /** The MetricDataQuery Id: unique per call, `^[a-z]\w*$`. */
  queryId: string;
}

const entries: Array<[MetricType, string, MetricUnit, string]> = [
  ["CPUUtilization", "CPU utilization", "Percent", "cpu_utilization"],
  ["FreeableMemory", "Freeable memory", "Bytes", "freeable_memory"],
  ["ReadIOPS", "Read IOPS", "Count/Second", "read_iops"],
  ["WriteIOPS", "Write IOPS", "Count/Second", "write_iops"],
  ["ReadThroughput", "Read throughput", "Bytes/Second", "read_throughput"],
  ["WriteThroughput", "Write throughput", "Bytes/Second", "write_throughput"],
  ["FreeStorageSpace", "Free storage space", "Bytes", "free_storage_space"],
  ["DatabaseConnections", "Database connections", "Count", "database_connections"],
  ["ReadLatency", "Read latency", "Seconds", "read_latency"],
  ["WriteLatency", "Write latency", "Seconds", "write_latency"],
  ["DiskQueueDepth", "Disk queue depth", "Count", "disk_queue_depth"],
  [
    "NetworkReceiveThroughput",
    "Network receive throughput",
    "Bytes/Second",
    "network_receive_throughput",
  ],
  [
    "NetworkTransmitThroughput",
    "Network transmit throughput",
    "Bytes/Second",
    "network_transmit_throughput",
  ],
  ["SwapUsage", "Swap usage", "Bytes", "swap_usage"],
  // Published by Performance Insights only while it is on and the instance has load.
  ["DBLoad", "DB load", "None", "db_load"],
  ["DBLoadCPU", "DB load CPU", "None", "db_load_cpu"],
  ["DBLoadNonCPU", "DB load non-CPU", "None", "db_load_non_cpu"],
  ["DBLoadRelativeToNumVCPUs", "DB load per vCPU", "None", "db_load_relative_to_num_vcpus"],
];

/** Every catalogue metric by name, in catalogue order. */
export const CATALOGUE: Readonly<Record<MetricType, MetricInfo>> = Object.freeze(
  Object.fromEntries(
    entries.map(([type, label, unit, queryId]) => [type, { type, label, unit, queryId }]),
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

const byQueryId = new Map(entries.map(([type, , , queryId]) => [queryId, type]));

// MyCRT named metrics by their label words in capitals ("CPU UTILIZATION"); we accept those
// words joined by spaces or underscores in any case, besides the CloudWatch name itself.
const byName = new Map<string, MetricType>();
for (const [type, label] of entries) {
  const words = label.toLowerCase().split(" ");
  for (const name of [type.toLowerCase(), words.join(" "), words.join("_")]) byName.set(name, type);
}

/** The metric named by `input`: a CloudWatch name in any case, or an old MyCRT alias. */
export function resolveMetricType(input: string): MetricType | undefined {
  return byName.get(input.trim().replace(/\s+/g, " ").toLowerCase());
}
