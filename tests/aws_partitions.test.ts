import assert from "node:assert/strict";
import { CloudWatchError, createCloudWatchClient } from "../metrics/cloudwatch.ts";
import { awsEndpoint, partitionOf, PARTITIONS, UnknownRegionError } from "../metrics/partitions.ts";
import { fakeCloudWatchEnv, startFakeCloudWatch, TEST_CREDENTIALS } from "./fakes/cloudwatch.ts";
import { testContext } from "./helpers/context.ts";
import { assertProblem } from "./helpers/problem.ts";

Deno.test("partitionOf() gives each partition's DNS suffix as the AWS SDKs publish it", () => {
  const suffix = (region: string) => [partitionOf(region)?.id, partitionOf(region)?.dnsSuffix];
  assert.deepEqual(suffix("us-east-1"), ["aws", "amazonaws.com"]);
  assert.deepEqual(suffix("cn-north-1"), ["aws-cn", "amazonaws.com.cn"]);
  assert.deepEqual(suffix("cn-northwest-1"), ["aws-cn", "amazonaws.com.cn"]);
  assert.deepEqual(suffix("us-gov-west-1"), ["aws-us-gov", "amazonaws.com"]);
  assert.deepEqual(suffix("us-iso-east-1"), ["aws-iso", "c2s.ic.gov"]);
  assert.deepEqual(suffix("us-isob-east-1"), ["aws-iso-b", "sc2s.sgov.gov"]);
  assert.deepEqual(suffix("eu-isoe-west-1"), ["aws-iso-e", "cloud.adc-e.uk"]);
  assert.deepEqual(suffix("us-isof-south-1"), ["aws-iso-f", "csp.hci.ic.gov"]);
  assert.deepEqual(suffix("eusc-de-east-1"), ["aws-eusc", "amazonaws.eu"]);
  assert.deepEqual(PARTITIONS.map((p) => p.id).sort(), [
    "aws",
    "aws-cn",
    "aws-eusc",
    "aws-iso",
    "aws-iso-b",
    "aws-iso-e",
    "aws-iso-f",
    "aws-us-gov",
  ]);
  // Every listed region is served by its own partition's pattern too.
  for (const p of PARTITIONS) {
    for (const region of p.regions) assert.ok(p.regionRegex.test(region), region);
  }
});

Deno.test("partitionOf() serves a new region by its partition's pattern but refuses malformed names", () => {
  assert.equal(partitionOf("ap-southeast-9")?.id, "aws");
  assert.equal(partitionOf("cn-south-2")?.id, "aws-cn");
  assert.equal(partitionOf("us-gov-central-3")?.id, "aws-us-gov");
  for (
    const bad of [
      "xx-east-1", // no partition's pattern
      "zz-gov-west-1",
      "US-EAST-1", // the SDK patterns' \w would take these
      "us-east_1-1",
      "us-east-01",
      "us-east-1.evil.example",
      "us-east-1/",
      "aws-global", // a pseudo-region of the SDK table, with no regional endpoint
      "",
      `us-${"a".repeat(40)}-1`,
    ]
  ) {
    assert.equal(partitionOf(bad), undefined, bad);
  }
});

Deno.test("awsEndpoint() builds every host from the region's partition and keeps an override", () => {
  assert.equal(
    awsEndpoint("monitoring", "cn-north-1"),
    "https://monitoring.cn-north-1.amazonaws.com.cn/",
  );
  assert.equal(awsEndpoint("sts", "us-isob-east-1"), "https://sts.us-isob-east-1.sc2s.sgov.gov/");
  assert.equal(
    awsEndpoint("pi", "eusc-de-east-1", "https://pi.{region}.{dnsSuffix}"),
    "https://pi.eusc-de-east-1.amazonaws.eu",
  );
  assert.equal(
    awsEndpoint("monitoring", "cn-north-1", "http://127.0.0.1:4566/"),
    "http://127.0.0.1:4566/",
  );
  assert.throws(() => awsEndpoint("monitoring", "xx-east-1"), UnknownRegionError);
  // An override does not make an unserved region valid.
  assert.throws(() => awsEndpoint("monitoring", "xx-east-1", "http://127.0.0.1:4566/"));
});

Deno.test("getMetricData() asks cn-north-1's CloudWatch at amazonaws.com.cn", async () => {
  const urls: string[] = [];
  const client = createCloudWatchClient({
    fetch: (input) => {
      urls.push((input as Request).url);
      return Promise.resolve(new Response(JSON.stringify({ MetricDataResults: [] })));
    },
  });
  await client.getMetricData({
    region: "cn-north-1",
    credentials: TEST_CREDENTIALS,
    dbInstanceIdentifier: "prod-mysql-1",
    metrics: ["CPUUtilization"],
    stat: "Average",
    period: 60,
    startTime: 1768471200,
    endTime: 1768474800,
  });
  assert.deepEqual(urls, ["https://monitoring.cn-north-1.amazonaws.com.cn/"]);
});

Deno.test("getMetricData() refuses a stored region no partition serves without calling AWS", async () => {
  let fetched = 0;
  const client = createCloudWatchClient({
    fetch: () => {
      fetched++;
      return Promise.resolve(new Response("{}"));
    },
  });
  await assert.rejects(
    client.getMetricData({
      region: "xx-east-1",
      credentials: TEST_CREDENTIALS,
      dbInstanceIdentifier: "prod-mysql-1",
      metrics: ["CPUUtilization"],
      stat: "Average",
      period: 60,
      startTime: 1768471200,
      endTime: 1768474800,
    }),
    (err) => err instanceof CloudWatchError && err.code === "InvalidRegion",
  );
  assert.equal(fetched, 0);
});

Deno.test("POST /api/environments answers 400 naming region for a region no partition serves", async () => {
  await using t = await testContext();
  for (const region of ["xx-east-1", "us-east-1.evil.example", "US-EAST-1", "aws-global"]) {
    const res = await t.as("alice").post("/api/environments", {
      name: `env-${region}`,
      region,
      dbInstanceIdentifier: "prod-mysql-1",
    });
    const problem = await assertProblem(res, 400);
    assert.deepEqual(problem.errors?.map((e) => e.path), ["region"], region);
  }
  const cn = await t.as("alice").post("/api/environments", {
    name: "beijing",
    region: "cn-north-1",
    dbInstanceIdentifier: "prod-mysql-1",
  });
  assert.equal(cn.status, 201);
});

Deno.test("PATCH /api/environments/{id} answers 400 naming region and keeps the old one", async () => {
  await using t = await testContext();
  const env = await t.createEnvironment("alice", { region: "eu-west-1" });
  const res = await t.as("alice").patch(`/api/environments/${env.id}`, { region: "zz-west-1" });
  const problem = await assertProblem(res, 400);
  assert.deepEqual(problem.errors?.map((e) => e.path), ["region"]);
  assert.match(problem.errors![0].message, /partition/);
  const after = await (await t.as("alice").get(`/api/environments/${env.id}`)).json();
  assert.equal(after.region, "eu-west-1");
});

Deno.test("CLOUDWATCH_ENDPOINT still overrides the host for a cn-north-1 environment", async () => {
  await using fake = await startFakeCloudWatch();
  await using t = await testContext({ now: "2026-01-15T12:00:00Z", env: fakeCloudWatchEnv(fake) });
  const env = await t.createEnvironment("owner", { region: "cn-north-1" });
  const created = await t.as("owner").post("/api/captures", {
    name: "beijing-hour",
    envId: env.id,
    start: "2026-01-15T10:00:00Z",
    duration: 3600,
  });
  assert.equal(created.status, 201, await created.clone().text());
  const { id } = await created.json();
  const res = await t.as("owner").get(`/api/captures/${id}/metrics?type=CPUUtilization`);
  assert.equal(res.status, 200, await res.clone().text());
  assert.equal(fake.calls.length, 1);
  // The fake checked the signature, whose scope names the environment's region.
  assert.equal(fake.calls[0].status, 200);
  assert.equal(fake.calls[0].region, "cn-north-1");
});
