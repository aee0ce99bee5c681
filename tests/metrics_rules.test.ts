import assert from "node:assert/strict";
import {
  CATALOGUE,
  METRIC_TYPES,
  metricTypeForQueryId,
  resolveMetricType,
} from "../metrics/catalogue.ts";
import {
  alignWindow,
  choosePeriod,
  isValidStat,
  pointCount,
  startRounding,
} from "../metrics/period.ts";
import { rebucket, type StoredPoint } from "../metrics/snapshot_series.ts";

const NOW = new Date("2026-06-01T00:00:00Z");
const DAY = 86_400_000;
const ago = (ms: number) => new Date(NOW.getTime() - ms);

Deno.test("METRIC_TYPES lists the RDS metrics and the load metrics with labels, units and query ids", () => {
  assert.equal(new Set(METRIC_TYPES).size, METRIC_TYPES.length);
  assert.deepEqual(Object.keys(CATALOGUE), [...METRIC_TYPES]);
  assert.deepEqual(CATALOGUE.CPUUtilization, {
    type: "CPUUtilization",
    label: "CPU utilization",
    unit: "Percent",
    queryId: "cpu_utilization",
  });
  assert.equal(CATALOGUE.ReadLatency.unit, "Seconds");
  assert.equal(CATALOGUE.FreeableMemory.unit, "Bytes");
  assert.equal(CATALOGUE.WriteIOPS.unit, "Count/Second");
  assert.equal(CATALOGUE.NetworkTransmitThroughput.unit, "Bytes/Second");
  assert.equal(CATALOGUE.DatabaseConnections.unit, "Count");
  const ids = METRIC_TYPES.map((t) => CATALOGUE[t].queryId);
  const load = METRIC_TYPES.filter((type) => type.startsWith("DBLoad"));
  assert.deepEqual(load, ["DBLoad", "DBLoadCPU", "DBLoadNonCPU", "DBLoadRelativeToNumVCPUs"]);
  for (const type of load) assert.equal(CATALOGUE[type].unit, "None");
  assert.equal(new Set(ids).size, METRIC_TYPES.length);
  for (const type of METRIC_TYPES) {
    assert.match(CATALOGUE[type].queryId, /^[a-z]\w*$/);
    assert.equal(metricTypeForQueryId(CATALOGUE[type].queryId), type);
  }
});

Deno.test("resolveMetricType() accepts CloudWatch names in any case", () => {
  for (const type of METRIC_TYPES) {
    assert.equal(resolveMetricType(type), type);
    assert.equal(resolveMetricType(type.toUpperCase()), type);
    assert.equal(resolveMetricType(type.toLowerCase()), type);
  }
});

Deno.test("resolveMetricType() accepts the old MyCRT names as aliases", () => {
  const old: Record<string, string> = {
    "CPU UTILIZATION": "CPUUtilization",
    "FREEABLE MEMORY": "FreeableMemory",
    "READ IOPS": "ReadIOPS",
    "WRITE IOPS": "WriteIOPS",
    "READ THROUGHPUT": "ReadThroughput",
    "WRITE THROUGHPUT": "WriteThroughput",
    "FREE STORAGE SPACE": "FreeStorageSpace",
    "DATABASE CONNECTIONS": "DatabaseConnections",
    "READ LATENCY": "ReadLatency",
    "WRITE LATENCY": "WriteLatency",
    "DISK QUEUE DEPTH": "DiskQueueDepth",
    "NETWORK RECEIVE THROUGHPUT": "NetworkReceiveThroughput",
    "NETWORK TRANSMIT THROUGHPUT": "NetworkTransmitThroughput",
    "SWAP USAGE": "SwapUsage",
  };
  for (const [alias, type] of Object.entries(old)) {
    assert.equal(resolveMetricType(alias), type, alias);
    assert.equal(resolveMetricType(alias.toLowerCase()), type, alias);
    assert.equal(resolveMetricType(alias.replaceAll(" ", "_")), type, alias);
  }
  assert.equal(resolveMetricType("  cpu   utilization "), "CPUUtilization");
  assert.equal(resolveMetricType("cpu_utilization"), "CPUUtilization");
});

Deno.test("resolveMetricType() rejects names outside the catalogue", () => {
  for (const name of ["", "CPU", "CPUUTIL IZATION", "BurstBalance", "read-iops", "READIOPS!"]) {
    assert.equal(resolveMetricType(name), undefined, name);
  }
});

Deno.test("isValidStat() accepts CloudWatch's statistics and percentiles", () => {
  for (const stat of ["Average", "Minimum", "Maximum", "Sum", "SampleCount"]) {
    assert.ok(isValidStat(stat), stat);
  }
  for (const stat of ["p50", "p99", "p99.9", "p99.99", "p1", "p0.5", "p90.0"]) {
    assert.ok(isValidStat(stat), stat);
  }
  for (
    const stat of ["average", "AVG", "p0", "p100", "p100.0", "p99.999", "p", "P99", "tm99", ""]
  ) {
    assert.ok(!isValidStat(stat), stat);
  }
});

Deno.test("choosePeriod() picks one minute for a recent day-long window", () => {
  const start = ago(DAY);
  assert.deepEqual(choosePeriod({ start, end: NOW, now: NOW }), { ok: true, period: 60 });
  assert.deepEqual(choosePeriod({ start, end: start, now: NOW }), { ok: true, period: 60 });
});

Deno.test("choosePeriod() keeps a default series within 1,440 points", () => {
  assert.deepEqual(choosePeriod({ start: ago(2 * DAY), end: NOW, now: NOW }), {
    ok: true,
    period: 120,
  });
  assert.deepEqual(choosePeriod({ start: ago(10 * DAY), end: NOW, now: NOW }), {
    ok: true,
    period: 600,
  });
  // A day that starts mid-minute spans 1,441 aligned minutes, so one minute is too fine.
  const start = new Date(ago(DAY).getTime() + 30_000);
  const end = new Date(start.getTime() + DAY);
  const choice = choosePeriod({ start, end, now: NOW });
  assert.deepEqual(choice, { ok: true, period: 120 });
  assert.ok(pointCount(start, end, 120) <= 1440);
});

Deno.test("choosePeriod() uses multiples of 300 for windows that start 15 to 63 days ago", () => {
  const start = ago(20 * DAY);
  const end = new Date(start.getTime() + 3_600_000);
  assert.deepEqual(choosePeriod({ start, end, now: NOW }), { ok: true, period: 300 });
  assert.deepEqual(choosePeriod({ start, end, now: NOW, requested: 600 }), {
    ok: true,
    period: 600,
  });
});

Deno.test("choosePeriod() uses multiples of 3600 for windows older than 63 days", () => {
  const start = ago(100 * DAY);
  const end = new Date(start.getTime() + 90 * DAY);
  assert.deepEqual(choosePeriod({ start, end, now: NOW }), { ok: true, period: 7200 });
  assert.deepEqual(choosePeriod({ start: ago(64 * DAY), end: ago(63 * DAY), now: NOW }), {
    ok: true,
    period: 3600,
  });
});

Deno.test("choosePeriod() refuses a window that starts more than 455 days ago", () => {
  const choice = choosePeriod({ start: ago(456 * DAY), end: ago(450 * DAY), now: NOW });
  assert.equal(choice.ok, false);
  assert.equal(!choice.ok && choice.gone, true);
  assert.match(
    !choice.ok ? choice.message : "",
    /^CloudWatch keeps metrics for 455 days; this window starts 456 days ago/,
  );
  // A valid period changes nothing: the data is gone whatever the resolution.
  const asked = choosePeriod({
    start: ago(456 * DAY),
    end: ago(450 * DAY),
    now: NOW,
    requested: 3600,
  });
  assert.equal(!asked.ok && asked.gone, true);
});

Deno.test("choosePeriod() rejects a requested period that is not a positive multiple of 60", () => {
  for (const requested of [0, -60, 90, 60.5, 30, Number.NaN]) {
    const choice = choosePeriod({ start: ago(DAY), end: NOW, now: NOW, requested });
    assert.equal(choice.ok, false, String(requested));
    assert.equal(!choice.ok && choice.gone, false, String(requested));
    assert.match(!choice.ok ? choice.message : "", /positive multiple of 60/);
  }
});

Deno.test("choosePeriod() explains CloudWatch retention when a requested period is too fine", () => {
  const twentyDays = choosePeriod({ start: ago(20 * DAY), end: NOW, now: NOW, requested: 60 });
  assert.deepEqual(twentyDays, {
    ok: false,
    gone: false,
    message: "1-minute data is kept 15 days; this window starts 20 days ago, " +
      "use a period that is a multiple of 300",
  });
  const hundredDays = choosePeriod({
    start: ago(100 * DAY),
    end: ago(99 * DAY),
    now: NOW,
    requested: 300,
  });
  assert.deepEqual(hundredDays, {
    ok: false,
    gone: false,
    message: "5-minute data is kept 63 days; this window starts 100 days ago, " +
      "use a period that is a multiple of 3600",
  });
});

Deno.test("choosePeriod() allows an explicit period up to 10,080 points per series", () => {
  const start = ago(7 * DAY);
  assert.deepEqual(choosePeriod({ start, end: NOW, now: NOW, requested: 60 }), {
    ok: true,
    period: 60,
  });
  const tooMany = choosePeriod({ start: ago(14 * DAY), end: NOW, now: NOW, requested: 60 });
  assert.deepEqual(tooMany, {
    ok: false,
    gone: false,
    message: "period 60 gives 20160 points per series; the most is 10080, " +
      "use a period of at least 120",
  });
});

Deno.test("choosePeriod() rejects a window that ends before it starts", () => {
  const choice = choosePeriod({ start: NOW, end: ago(60_000), now: NOW });
  assert.equal(choice.ok, false);
  assert.equal(!choice.ok && choice.gone, false);
});

Deno.test("alignWindow() starts at the start's minute and ends on a whole period, in epoch seconds", () => {
  const start = new Date("2026-01-15T10:00:30Z");
  const end = new Date("2026-01-15T10:10:01Z");
  assert.deepEqual(alignWindow(start, end, 60), {
    startTime: Date.UTC(2026, 0, 15, 10, 0) / 1000,
    endTime: Date.UTC(2026, 0, 15, 10, 11) / 1000,
  });
  assert.deepEqual(alignWindow(start, end, 300), {
    startTime: Date.UTC(2026, 0, 15, 10, 0) / 1000,
    endTime: Date.UTC(2026, 0, 15, 10, 15) / 1000,
  });
});

Deno.test("alignWindow() never returns an empty window", () => {
  const at = new Date("2026-01-15T10:00:00Z");
  const { startTime, endTime } = alignWindow(at, at, 60);
  assert.equal(endTime - startTime, 60);
});

Deno.test("alignWindow() counts periods from an odd start minute, never from before it", () => {
  const start = new Date("2026-01-15T10:03:20Z");
  const end = new Date("2026-01-15T10:30:00Z");
  // 10:03 + 6 × 5 min: the first bucket is [10:03, 10:08), the last one covers 10:28–10:33.
  assert.deepEqual(alignWindow(start, end, 300), {
    startTime: Date.UTC(2026, 0, 15, 10, 3) / 1000,
    endTime: Date.UTC(2026, 0, 15, 10, 33) / 1000,
  });
  assert.deepEqual(alignWindow(start, end, 3600), {
    startTime: Date.UTC(2026, 0, 15, 10, 3) / 1000,
    endTime: Date.UTC(2026, 0, 15, 11, 3) / 1000,
  });
  // Recent (under 15 days), CloudWatch keeps a StartTime to the minute, so `now` changes nothing.
  assert.deepEqual(
    alignWindow(start, end, 300, new Date("2026-01-16T00:00:00Z")),
    alignWindow(start, end, 300),
  );
});

Deno.test("alignWindow() moves an older start up to the 5-minute or hour boundary CloudWatch rounds to", () => {
  const start = new Date("2026-01-15T10:03:20Z");
  const end = new Date("2026-01-15T13:00:00Z");
  assert.equal(startRounding(start, new Date("2026-01-29T00:00:00Z")), 60);
  assert.equal(startRounding(start, new Date("2026-02-04T00:00:00Z")), 300);
  assert.equal(startRounding(start, new Date("2026-05-01T00:00:00Z")), 3600);
  // 20 days on, CloudWatch would round 10:03 down to 10:00: the window starts at 10:05 instead.
  assert.deepEqual(alignWindow(start, end, 300, new Date("2026-02-04T00:00:00Z")), {
    startTime: Date.UTC(2026, 0, 15, 10, 5) / 1000,
    endTime: Date.UTC(2026, 0, 15, 13, 0) / 1000,
  });
  // 100 days on it would round down to 10:00 of the hour: the window starts at 11:00.
  assert.deepEqual(alignWindow(start, end, 3600, new Date("2026-05-01T00:00:00Z")), {
    startTime: Date.UTC(2026, 0, 15, 11) / 1000,
    endTime: Date.UTC(2026, 0, 15, 13) / 1000,
  });
});

Deno.test("rebucket() counts buckets from the window's start, not from wall-clock periods", () => {
  const t0 = Date.UTC(2026, 0, 15, 10, 3) / 1000;
  const minutes = Array.from({ length: 10 }, (_, m): StoredPoint => [t0 + 60 * m, m]);
  assert.deepEqual(rebucket(minutes, "Average", 300, t0), [
    { timestamp: "2026-01-15T10:03:00.000Z", value: 2 },
    { timestamp: "2026-01-15T10:08:00.000Z", value: 7 },
  ]);
  assert.deepEqual(rebucket(minutes, "Maximum", 300, t0).map((p) => p.value), [4, 9]);
  assert.deepEqual(rebucket(minutes, "Minimum", 300, t0).map((p) => p.value), [0, 5]);
});
