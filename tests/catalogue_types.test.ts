import assert from "node:assert/strict";
import {
  CATALOGUE,
  METRIC_TYPES,
  type MetricCatalogue,
  type MetricInfo,
  type MetricType,
  metricTypeForQueryId,
  queryIdOf,
} from "../metrics/catalogue.ts";

// Type-level checks: `deno check` (and so `deno task test`) fails if one stops holding. Each line
// marked ts-expect-error is a change that must not compile; without its error the check fails.

/** True when A and B are the same type. */
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true
  : false;
const holds = <T extends true>(_: T) => {};

// The names are the catalogue's keys, not a second list that could drift from it.
holds<Equal<MetricType, keyof typeof CATALOGUE>>(true);
holds<Equal<MetricType, typeof METRIC_TYPES[number]>>(true);

// An entry needs its label and unit: a half entry does not compile.
// @ts-expect-error a metric without a unit
const _noUnit = { NewMetric: { label: "New metric" } } satisfies MetricCatalogue;
// @ts-expect-error a unit CloudWatch does not use for RDS
const _badUnit = { NewMetric: { label: "New metric", unit: "Furlongs" } } satisfies MetricCatalogue;

// Whatever is keyed by metric must name every one of them.
// @ts-expect-error a map that forgets a metric
const _partial: Record<MetricType, string> = { CPUUtilization: "cpu" };
// @ts-expect-error a name outside the catalogue
const _unknown: MetricType = "CPUUtilisation";

Deno.test("every catalogue metric has its label, unit and a unique query id derived from its name", () => {
  const infos: MetricInfo[] = METRIC_TYPES.map((type) => CATALOGUE[type]);
  assert.deepEqual(infos.map((info) => info.type), [...METRIC_TYPES]);
  for (const info of infos) {
    assert.ok(info.label.length > 0 && info.unit.length > 0, info.type);
    assert.equal(info.queryId, queryIdOf(info.type));
    assert.match(info.queryId, /^[a-z]\w*$/);
    assert.equal(metricTypeForQueryId(info.queryId), info.type);
  }
  assert.equal(new Set(infos.map((info) => info.queryId)).size, infos.length);
  assert.equal(queryIdOf("ReadIOPS"), "read_iops");
  assert.equal(queryIdOf("CPUUtilization"), "cpu_utilization");
});
