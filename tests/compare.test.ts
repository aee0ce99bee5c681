import assert from "node:assert/strict";
import { DOMParser } from "../dev_deps/xmldom.ts";
import { parse as parseCsv } from "../dev_deps/csv_parse.ts";
import { and, eq, inArray } from "drizzle-orm";
import { captureSnapshotSeries } from "../db/schema.ts";
import { METRIC_TYPES } from "../metrics/catalogue.ts";
import { difference, summarize } from "../metrics/compare.ts";
import { fakeCloudWatchEnv, generatedValue, startFakeCloudWatch } from "./fakes/cloudwatch.ts";
import { type TestContext, testContext } from "./helpers/context.ts";
import { sweeperFor } from "./helpers/sweeper.ts";
import { assertProblem } from "./helpers/problem.ts";

const NOW = "2026-01-15T12:00:00Z";
const DB_ID = "prod-mysql-1";
const DAY_MS = 86_400_000;
const T_BASE = Date.parse("2026-01-15T10:00:00Z") / 1000;
const T_CAND = Date.parse("2026-01-15T11:00:00Z") / 1000;

interface Side {
  complete: boolean;
  summary: Record<string, number | null>;
  datapoints: Array<{ offset: number; value: number }>;
}
interface Body {
  baseline: { captureId: number; name: string; duration: number; source: string };
  candidate: { captureId: number; name: string; duration: number; source: string };
  period: number;
  stat: string;
  commonDuration: number;
  complete: boolean;
  series: Array<{
    type: string;
    unit: string;
    baseline: Side;
    candidate: Side;
    change: Record<string, { absolute: number | null; relative: number | null }>;
  }>;
}

/** `value` with every number rounded to 9 decimals: percentiles interpolate in binary floating point. */
function rounded<T>(value: T): T {
  return JSON.parse(
    JSON.stringify(value, (_, v) => typeof v === "number" ? Math.round(v * 1e9) / 1e9 : v),
  );
}

async function backfill(
  t: TestContext,
  envId: number,
  name: string,
  start: number,
  duration: number,
  user = "owner",
) {
  const res = await t.as(user).post("/api/captures", {
    name,
    envId,
    start: new Date(start * 1000).toISOString(),
    duration,
  });
  const text = await res.text();
  assert.equal(res.status, 201, text);
  return JSON.parse(text) as { id: number; status: string };
}

async function compare(t: TestContext, id: number, query: string, user = "owner") {
  const res = await t.as(user).get(`/api/captures/${id}/compare?${query}`);
  const text = await res.text();
  assert.equal(res.status, 200, text);
  return { res, body: JSON.parse(text) as Body };
}

/** A 5-minute baseline and a 4-minute candidate with fixed CPU values and zero baseline load. */
async function twoCaptures(t: TestContext, fake: { setSeries: (...a: never[]) => void }) {
  const set = fake.setSeries as (m: string, db: string, p: Array<[number, number]>) => void;
  set("CPUUtilization", DB_ID, [
    ...[10, 20, 30, 40, 50].map((v, i): [number, number] => [T_BASE + 60 * i, v]),
    ...[15, 15, 45, 60].map((v, i): [number, number] => [T_CAND + 60 * i, v]),
  ]);
  set("DBLoad", DB_ID, [
    ...[0, 0, 0, 0, 0].map((v, i): [number, number] => [T_BASE + 60 * i, v]),
    ...[1, 2, 3, 4].map((v, i): [number, number] => [T_CAND + 60 * i, v]),
  ]);
  const env = await t.createEnvironment("owner");
  const baseline = await backfill(t, env.id, "before", T_BASE, 300);
  const candidate = await backfill(t, env.id, "after", T_CAND, 240);
  return { env, baseline, candidate };
}

Deno.test("summarize() and difference() match hand-computed values", () => {
  // Sorted 1, 2, 3, 4: p50 halfway between 2 and 3; p95 at rank 2.85, 85 % from 3 to 4.
  assert.deepEqual(rounded(summarize([4, 1, 3, 2])), {
    count: 4,
    mean: 2.5,
    min: 1,
    max: 4,
    p50: 2.5,
    p95: 3.85,
  });
  assert.deepEqual(summarize([7]), { count: 1, mean: 7, min: 7, max: 7, p50: 7, p95: 7 });
  assert.deepEqual(summarize([]), {
    count: 0,
    mean: null,
    min: null,
    max: null,
    p50: null,
    p95: null,
  });
  assert.deepEqual(difference(2, 3), { absolute: 1, relative: 0.5 });
  assert.deepEqual(difference(-2, -3), { absolute: -1, relative: -0.5 });
  assert.deepEqual(difference(0, 5), { absolute: 5, relative: null });
  assert.deepEqual(difference(null, 5), { absolute: null, relative: null });
});

Deno.test("GET /api/captures/{id}/compare compares windows of different lengths over the shorter one", async () => {
  await using fake = await startFakeCloudWatch();
  await using t = await testContext({ now: NOW, env: fakeCloudWatchEnv(fake) });
  const { baseline, candidate } = await twoCaptures(t, fake);

  const { res, body } = await compare(
    t,
    candidate.id,
    `with=${baseline.id}&type=CPUUtilization&type=DBLoad`,
  );
  assert.equal(res.headers.get("cache-control"), "private, no-cache");
  assert.equal(fake.calls.length, 2, "one GetMetricData call per capture");
  assert.equal(body.baseline.name, "before");
  assert.equal(body.candidate.name, "after");
  assert.equal(body.baseline.duration, 300);
  assert.equal(body.candidate.duration, 240);
  assert.equal(body.commonDuration, 240);
  assert.equal(body.period, 60);
  assert.equal(body.stat, "Average");
  const [cpu, load] = body.series;
  assert.equal(cpu.unit, "Percent");
  assert.equal(load.unit, "None");
  // The baseline's fifth minute lies past the common length and is left out.
  assert.deepEqual(cpu.baseline.datapoints, [
    { offset: 0, value: 10 },
    { offset: 60, value: 20 },
    { offset: 120, value: 30 },
    { offset: 180, value: 40 },
  ]);
  assert.deepEqual(cpu.candidate.datapoints.map((p) => p.offset), [0, 60, 120, 180]);
  // Baseline 10, 20, 30, 40: mean 25, p50 25, p95 30 + 0.85·10 = 38.5.
  assert.deepEqual(rounded(cpu.baseline.summary), {
    count: 4,
    mean: 25,
    min: 10,
    max: 40,
    p50: 25,
    p95: 38.5,
  });
  // Candidate 15, 15, 45, 60: mean 33.75, p50 30, p95 45 + 0.85·15 = 57.75.
  assert.deepEqual(rounded(cpu.candidate.summary), {
    count: 4,
    mean: 33.75,
    min: 15,
    max: 60,
    p50: 30,
    p95: 57.75,
  });
  assert.deepEqual(rounded(cpu.change), {
    mean: { absolute: 8.75, relative: 0.35 },
    p95: { absolute: 19.25, relative: 0.5 },
    max: { absolute: 20, relative: 0.5 },
  });
  // A baseline of 0 has no relative change.
  assert.deepEqual(rounded(load.change), {
    mean: { absolute: 2.5, relative: null },
    p95: { absolute: 3.85, relative: null },
    max: { absolute: 4, relative: null },
  });
});

Deno.test("GET /api/captures/{id}/compare is 404 for a capture the caller cannot see, in either position", async () => {
  await using fake = await startFakeCloudWatch();
  await using t = await testContext({ now: NOW, env: fakeCloudWatchEnv(fake) });
  const mine = await t.createEnvironment("owner");
  const theirs = await t.createEnvironment("stranger");
  const own = await backfill(t, mine.id, "own", T_BASE, 600);
  const foreign = await backfill(t, theirs.id, "foreign", T_CAND, 600, "stranger");

  for (const path of ["compare", "compare.svg"]) {
    for (const [id, other] of [[own.id, foreign.id], [foreign.id, own.id], [own.id, 9999]]) {
      const res = await t.as("owner").get(`/api/captures/${id}/${path}?with=${other}`);
      const problem = await assertProblem(res, 404);
      assert.match(problem.detail, new RegExp(`Capture ${id === own.id ? other : id} `));
    }
  }
  assert.equal(fake.calls.length, 0);

  // Staging against production: a member of both environments compares across them.
  await t.addMember(theirs.id, "owner", "member", "stranger");
  const { body } = await compare(t, own.id, `with=${foreign.id}&type=ReadIOPS`);
  assert.equal(body.baseline.captureId, foreign.id);
  assert.equal(body.series[0].baseline.datapoints.length, 10);

  const missing = await t.as("owner").get(`/api/captures/${own.id}/compare`);
  assert.equal((await assertProblem(missing, 400)).errors?.[0].path, "with");
});

Deno.test("a refusal of one side of a comparison names that side in the problem's detail", async () => {
  await using fake = await startFakeCloudWatch();
  await using t = await testContext({ now: NOW, env: fakeCloudWatchEnv(fake) });
  const env = await t.createEnvironment("owner");
  const done = await backfill(t, env.id, "done", T_BASE, 300);
  const res = await t.as("owner").post("/api/captures", {
    name: "later",
    envId: env.id,
    scheduledStart: "2026-01-15T13:00:00Z",
  });
  const text = await res.text();
  assert.equal(res.status, 201, text);
  const later = JSON.parse(text) as { id: number };

  for (const path of ["compare", "compare.svg"]) {
    const asBaseline = await t.as("owner").get(`/api/captures/${done.id}/${path}?with=${later.id}`);
    assert.match(
      (await assertProblem(asBaseline, 409)).detail,
      new RegExp(`^Baseline capture ${later.id}: Capture ${later.id} is SCHEDULED`),
    );
    const asCandidate = await t.as("owner").get(
      `/api/captures/${later.id}/${path}?with=${done.id}`,
    );
    assert.match(
      (await assertProblem(asCandidate, 409)).detail,
      new RegExp(`^Candidate capture ${later.id}: Capture ${later.id} is SCHEDULED`),
    );
  }
  // The metrics operation of one capture answers without a prefix.
  const alone = await t.as("owner").get(`/api/captures/${later.id}/metrics`);
  assert.match((await assertProblem(alone, 409)).detail, new RegExp(`^Capture ${later.id} is`));
});

Deno.test("compare, compare.svg and CSV make no CloudWatch call when both captures have snapshots", async () => {
  await using fake = await startFakeCloudWatch();
  await using t = await testContext({ now: NOW, env: fakeCloudWatchEnv(fake) });
  const { baseline, candidate } = await twoCaptures(t, fake);
  const fromCloudWatch = await compare(t, candidate.id, `with=${baseline.id}`);
  assert.equal(fromCloudWatch.body.series.length, METRIC_TYPES.length);

  assert.deepEqual((await sweepOnce(t)).snapshots, { stored: 2, failed: 0 });
  fake.dropData();
  const before = fake.calls.length;
  const { res, body } = await compare(t, candidate.id, `with=${baseline.id}`);
  assert.equal(body.baseline.source, "snapshot");
  assert.equal(body.candidate.source, "snapshot");
  const strip = (b: Body) => ({
    ...b,
    baseline: { ...b.baseline, source: "" },
    candidate: { ...b.candidate, source: "" },
  });
  assert.deepEqual(strip(body), strip(fromCloudWatch.body));
  assert.equal(res.headers.get("cache-control"), "private, max-age=86400");

  const svg = await t.as("owner").get(
    `/api/captures/${candidate.id}/compare.svg?with=${baseline.id}&type=CPUUtilization`,
  );
  assert.equal(svg.status, 200);
  assert.equal(svg.headers.get("cache-control"), "private, max-age=86400");
  await svg.body?.cancel();
  const csv = await t.as("owner").get(
    `/api/captures/${candidate.id}/compare?with=${baseline.id}`,
    { Accept: "text/csv" },
  );
  assert.equal(csv.status, 200);
  await csv.body?.cancel();
  assert.equal(fake.calls.length, before, "no CloudWatch call");
});

const sweepOnce = (t: TestContext) => sweeperFor(t).sweepOnce();

Deno.test("a snapshot taken before the catalogue grew answers DBLoad from CloudWatch, then marks it incomplete", async () => {
  await using fake = await startFakeCloudWatch();
  await using t = await testContext({ now: NOW, env: fakeCloudWatchEnv(fake) });
  const env = await t.createEnvironment("owner");
  const capture = await backfill(t, env.id, "old", T_BASE, 600);
  assert.deepEqual((await sweepOnce(t)).snapshots, { stored: 1, failed: 0 });
  // As stored by the 14-metric catalogue: no load series.
  await t.db.delete(captureSnapshotSeries).where(and(
    eq(captureSnapshotSeries.captureId, capture.id),
    inArray(captureSnapshotSeries.type, [
      "DBLoad",
      "DBLoadCPU",
      "DBLoadNonCPU",
      "DBLoadRelativeToNumVCPUs",
    ]),
  ));
  const path = `/api/captures/${capture.id}/metrics?type=CPUUtilization&type=DBLoad`;
  const before = fake.calls.length;
  const recent = await t.as("owner").get(path);
  assert.equal(recent.status, 200);
  const fresh = await recent.json();
  assert.equal(fake.calls.length, before + 1);
  assert.deepEqual(
    fresh.series[1].datapoints[0],
    { timestamp: "2026-01-15T10:00:00.000Z", value: generatedValue("DBLoad", DB_ID, T_BASE) },
  );

  // 500 days on CloudWatch has nothing left: the snapshot's series, DBLoad empty and incomplete.
  t.clock.advance(500 * DAY_MS);
  fake.dropData();
  for (const suffix of ["", "&period=120"]) {
    const late = await t.as("owner").get(path + suffix);
    const text = await late.text();
    assert.equal(late.status, 200, text);
    const body = JSON.parse(text);
    assert.equal(body.source, "snapshot");
    assert.equal(body.complete, false);
    assert.equal(body.series[0].complete, true);
    assert.equal(body.series[0].datapoints.length, suffix ? 5 : 10);
    assert.deepEqual(
      { ...body.series[1], datapoints: body.series[1].datapoints.length },
      { type: "DBLoad", label: "DB load", unit: "None", complete: false, datapoints: 0 },
    );
  }
  const compared = await compare(t, capture.id, `with=${capture.id}&type=DBLoad`);
  assert.equal(compared.body.complete, false);
  assert.equal(compared.body.series[0].baseline.summary.count, 0);
  assert.equal(compared.res.headers.get("cache-control"), "private, no-cache");
});

Deno.test("SVG charts over HTTP: XML with a title, one path per series with one point per datapoint, ETag and 304", async () => {
  await using fake = await startFakeCloudWatch();
  await using t = await testContext({ now: NOW, env: fakeCloudWatchEnv(fake) });
  const { baseline, candidate } = await twoCaptures(t, fake);
  await using server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, t.app.fetch);
  const base = `http://127.0.0.1:${server.addr.port}`;
  const auth = { Authorization: `Bearer ${await t.token("owner")}` };

  const get = (path: string, headers: Record<string, string> = {}) =>
    fetch(`${base}${path}`, { headers: { ...auth, ...headers } });
  const metricsPath = `/api/captures/${baseline.id}/metrics.svg?type=CPUUtilization&type=DBLoad` +
    `&type=ReadIOPS`;
  const res = await get(metricsPath);
  const text = await res.text();
  assert.equal(res.status, 200, text);
  assert.equal(res.headers.get("content-type"), "image/svg+xml; charset=utf-8");
  const etag = res.headers.get("etag");
  assert.ok(etag);
  const doc = parseSvg(text);
  assert.match(doc.getElementsByTagName("title")[0].textContent ?? "", /Capture "before"/);
  assert.match(doc.getElementsByTagName("desc")[0].textContent ?? "", /5 points/);
  assert.ok(text.includes("Time (UTC)") && text.includes(">Percent<") && text.includes(">10:02<"));
  const paths = seriesPaths(doc);
  assert.deepEqual(paths.map((p) => [p.name, p.points]), [
    ["CPUUtilization", 5],
    ["DBLoad", 5],
    ["ReadIOPS", 5],
  ]);
  // The same data gives the same bytes, so a revalidation is a 304.
  assert.equal(await (await get(metricsPath)).text(), text);
  const again = await get(metricsPath, { "If-None-Match": etag });
  assert.equal(again.status, 304);
  await again.body?.cancel();

  const compared = await get(
    `/api/captures/${candidate.id}/compare.svg?with=${baseline.id}&type=CPUUtilization&type=DBLoad`,
  );
  const svg = await compared.text();
  assert.equal(compared.status, 200, svg);
  const overlaid = seriesPaths(parseSvg(svg));
  assert.deepEqual(overlaid.map((p) => [p.name, p.points]), [
    ["baseline", 4],
    ["candidate", 4],
    ["baseline", 4],
    ["candidate", 4],
  ]);
  assert.equal(
    parseSvg(svg).getElementsByTagName("title")[0].textContent,
    'Capture "after" compared with "before"',
  );
  // x ticks are nice in minutes (0, 0.5, 1 …), not nice seconds shown as minutes (0.83, 1.67 …).
  const xTicks = [
    ...svg.matchAll(/<text x="[\d.]+" y="\d+" text-anchor="middle">([\d.]+)<\/text>/g),
  ]
    .map((m) => Number(m[1]));
  assert.ok(xTicks.length > 0);
  for (const tick of xTicks) assert.ok(Number.isInteger(tick * 2), `x tick ${tick} minutes`);
});

/** Parses SVG text as XML, failing on any parse error. */
function parseSvg(text: string) {
  const errors: string[] = [];
  const doc = new DOMParser({
    onError: (level, message) => {
      if (level !== "warning") errors.push(message);
    },
  }).parseFromString(text, "image/svg+xml");
  assert.deepEqual(errors, []);
  assert.equal(doc.documentElement?.tagName, "svg");
  return doc;
}

/** Each series path: its name and how many points its `d` draws (one M or L command each). */
function seriesPaths(doc: ReturnType<typeof parseSvg>) {
  return Array.from(doc.getElementsByTagName("path"))
    .filter((p) => p.getAttribute("class") === "series")
    .map((p) => ({
      name: p.getAttribute("data-series"),
      points: (p.getAttribute("d") ?? "").match(/[ML]/g)?.length ?? 0,
    }));
}

Deno.test("Accept: text/csv on metrics and compare: units in the header, values round-trip", async () => {
  await using fake = await startFakeCloudWatch();
  await using t = await testContext({ now: NOW, env: fakeCloudWatchEnv(fake) });
  const { baseline, candidate } = await twoCaptures(t, fake);

  const query = "type=CPUUtilization&type=ReadLatency";
  const json = await (await t.as("owner").get(`/api/captures/${baseline.id}/metrics?${query}`))
    .json();
  const res = await t.as("owner").get(`/api/captures/${baseline.id}/metrics?${query}`, {
    Accept: "text/csv",
  });
  const text = await res.text();
  assert.equal(res.status, 200, text);
  assert.match(res.headers.get("content-type") ?? "", /^text\/csv/);
  assert.equal(res.headers.get("vary"), "Accept");
  assert.ok(text.endsWith("\r\n"));
  const [header, ...rows] = parseCsv(text, { record_delimiter: "\r\n" }) as string[][];
  assert.deepEqual(header, ["timestamp", "CPUUtilization (Percent)", "ReadLatency (Seconds)"]);
  assert.deepEqual(
    rows,
    json.series[0].datapoints.map((p: { timestamp: string; value: number }, i: number) => [
      p.timestamp,
      String(p.value),
      String(json.series[1].datapoints[i].value),
    ]),
  );
  assert.deepEqual(
    rows.map((r) => Number(r[2])),
    json.series[1].datapoints.map((p: { value: number }) => p.value),
  );

  const compared = await t.as("owner").get(
    `/api/captures/${candidate.id}/compare?with=${baseline.id}&type=CPUUtilization`,
    { Accept: "text/csv" },
  );
  const table = parseCsv(await compared.text(), { record_delimiter: "\r\n" }) as string[][];
  assert.deepEqual(table, [
    ["offset_seconds", "CPUUtilization baseline (Percent)", "CPUUtilization candidate (Percent)"],
    ["0", "10", "15"],
    ["60", "20", "15"],
    ["120", "30", "45"],
    ["180", "40", "60"],
  ]);
  // JSON stays the default, and wins when preferred.
  const preferred = await t.as("owner").get(
    `/api/captures/${candidate.id}/compare?with=${baseline.id}&type=CPUUtilization`,
    { Accept: "application/json, text/csv;q=0.5" },
  );
  assert.match(preferred.headers.get("content-type") ?? "", /^application\/json/);
  await preferred.body?.cancel();

  // DB load reads in sessions (average active sessions), not CloudWatch's "None".
  const load = await t.as("owner").get(
    `/api/captures/${candidate.id}/compare?with=${baseline.id}&type=DBLoad&type=DBLoadRelativeToNumVCPUs`,
    { Accept: "text/csv" },
  );
  const [loadHeader] = parseCsv(await load.text(), { record_delimiter: "\r\n" }) as string[][];
  assert.deepEqual(loadHeader, [
    "offset_seconds",
    "DBLoad baseline (sessions)",
    "DBLoad candidate (sessions)",
    "DBLoadRelativeToNumVCPUs baseline (sessions per vCPU)",
    "DBLoadRelativeToNumVCPUs candidate (sessions per vCPU)",
  ]);
});
