import assert from "node:assert/strict";
import { eq } from "drizzle-orm";
import { captureSnapshots, environments } from "../db/schema.ts";
import { createSnapshotter } from "../metrics/snapshotter.ts";
import { REFRESH_MARGIN_MS } from "../metrics/credentials.ts";
import { type FakeCredential, startFakeCloudWatch, TEST_CREDENTIALS } from "./fakes/cloudwatch.ts";
import { startFakeContainerCredentials, startFakeSts } from "./fakes/sts.ts";
import { type TestContext, testContext } from "./helpers/context.ts";
import { assertProblem } from "./helpers/problem.ts";

const NOW = "2026-01-15T12:00:00Z";
const ROLE = "arn:aws:iam::123456789012:role/capwatch/read-rds";
const EXTERNAL_ID = "capwatch-ext-7f3a";
const MINUTE = 60_000;

/** A fake CloudWatch that knows only what `accept` holds, a fake STS feeding it, and an app. */
async function roleSetup(env: Record<string, string> = {}, latencyMs?: number) {
  const accept: FakeCredential[] = [TEST_CREDENTIALS];
  const cloudwatch = await startFakeCloudWatch({ credentials: accept });
  const ref: { t?: TestContext } = {};
  const sts = startFakeSts({
    base: [TEST_CREDENTIALS],
    roles: [{ arn: ROLE, externalId: EXTERNAL_ID }, { arn: `${ROLE}-open` }],
    accept,
    now: () => ref.t!.clock(),
    latencyMs,
  });
  const t = ref.t = await testContext({
    now: NOW,
    env: {
      CLOUDWATCH_ENDPOINT: cloudwatch.url,
      AWS_STS_ENDPOINT: sts.url,
      AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
      ...env,
    },
  });
  // Only what STS issues may read CloudWatch: the base keys are for STS alone.
  accept.splice(accept.indexOf(TEST_CREDENTIALS), 1);
  return {
    t,
    cloudwatch,
    sts,
    accept,
    async [Symbol.asyncDispose]() {
      await t![Symbol.asyncDispose]();
      await sts[Symbol.asyncDispose]();
      await cloudwatch[Symbol.asyncDispose]();
    },
  };
}

/** An environment assuming `role`, with a finished one-hour capture; returns the capture id. */
async function roleCapture(t: TestContext, body: Record<string, unknown>) {
  const env = await t.createEnvironment("owner", body);
  const res = await t.as("owner").post("/api/captures", {
    name: `capture-${crypto.randomUUID().slice(0, 8)}`,
    envId: env.id,
    start: "2026-01-15T10:00:00Z",
    duration: 3600,
  });
  assert.equal(res.status, 201, await res.clone().text());
  return { envId: env.id, captureId: (await res.json()).id as number };
}

const metricsPath = (id: number) => `/api/captures/${id}/metrics?type=CPUUtilization`;

Deno.test("an environment with roleArn reads CloudWatch with credentials STS issued for it", async () => {
  await using s = await roleSetup();
  const { t, sts, cloudwatch } = s;
  const created = await t.as("owner").post("/api/environments", {
    name: "prod",
    region: "eu-west-1",
    dbInstanceIdentifier: "prod-mysql-1",
    roleArn: ROLE,
    externalId: EXTERNAL_ID,
  });
  const text = await created.text();
  assert.equal(created.status, 201, text);
  // The admins see the external id (theirs to put in the trust policy); members do not.
  assert.deepEqual(JSON.parse(text).credentials, {
    source: "role",
    accessKeyId: null,
    roleArn: ROLE,
    externalId: EXTERNAL_ID,
    externalIdIssued: false,
  });
  const { id } = JSON.parse(text);
  await t.addMember(id, "viewer");
  const seen = await (await t.as("viewer").get(`/api/environments/${id}`)).text();
  assert.ok(!seen.includes(EXTERNAL_ID), "the external id is shown to a member");

  const { captureId } = await roleCapture(t, { roleArn: ROLE, externalId: EXTERNAL_ID });
  const res = await t.as("owner").get(metricsPath(captureId));
  assert.equal(res.status, 200, await res.text());

  assert.equal(sts.calls.length, 1);
  const [call] = sts.calls;
  assert.equal(call.action, "AssumeRole");
  assert.equal(call.accessKeyId, TEST_CREDENTIALS.accessKeyId);
  assert.equal(call.params.RoleArn, ROLE);
  assert.equal(call.params.ExternalId, EXTERNAL_ID);
  assert.equal(call.params.DurationSeconds, "3600");
  assert.match(call.params.RoleSessionName, /^capwatch-env-\d+$/);
  const [cw] = cloudwatch.calls;
  assert.equal(cw.status, 200);
  assert.equal(cw.accessKeyId, sts.issued[0].accessKeyId);
  assert.ok(cw.signedHeaders.includes("x-amz-security-token"), "the session token is not signed");
});

Deno.test("assumed-role credentials are shared until 5 min before expiry, then renewed", async () => {
  await using s = await roleSetup();
  const { t, sts, cloudwatch } = s;
  const { captureId } = await roleCapture(t, { roleArn: `${ROLE}-open` });
  for (let i = 0; i < 3; i++) {
    assert.equal((await t.as("owner").get(metricsPath(captureId))).status, 200);
  }
  assert.equal(sts.calls.length, 1, "each read assumed the role again");

  // Just inside the margin the held credentials are still used...
  t.clock.advance(3600_000 - REFRESH_MARGIN_MS - MINUTE);
  assert.equal((await t.as("owner").get(metricsPath(captureId))).status, 200);
  assert.equal(sts.calls.length, 1);
  // ...past it they are renewed before CloudWatch could refuse them.
  t.clock.advance(2 * MINUTE);
  assert.equal((await t.as("owner").get(metricsPath(captureId))).status, 200);
  assert.equal(sts.calls.length, 2);
  assert.equal(cloudwatch.calls.at(-1)!.accessKeyId, sts.issued[1].accessKeyId);
});

Deno.test("concurrent reads of a role environment share one AssumeRole call", async () => {
  await using s = await roleSetup({}, 100);
  const { t, sts } = s;
  const { captureId } = await roleCapture(t, { roleArn: `${ROLE}-open` });
  const answers = await Promise.all(
    Array.from({ length: 6 }, () => t.as("owner").get(metricsPath(captureId))),
  );
  assert.deepEqual(answers.map((r) => r.status), Array(6).fill(200));
  assert.equal(sts.calls.length, 1);
});

Deno.test("STS AccessDenied answers 502, throttling 503 with Retry-After, and a failure is not kept", async () => {
  await using s = await roleSetup();
  const { t, sts } = s;
  // The trust policy wants an ExternalId this environment does not send.
  const { envId, captureId } = await roleCapture(t, { roleArn: ROLE });
  const denied = await assertProblem(await t.as("owner").get(metricsPath(captureId)), 502);
  assert.match(denied.detail, /^STS AccessDenied: AssumeRole: .*not authorized/);

  const patched = await t.as("owner").patch(`/api/environments/${envId}`, {
    roleArn: ROLE,
    externalId: EXTERNAL_ID,
  });
  assert.equal(patched.status, 200);
  sts.faults.push("throttle");
  const res = await t.as("owner").get(metricsPath(captureId));
  const throttled = await assertProblem(res, 503);
  assert.match(throttled.detail, /STS Throttling/);
  assert.match(res.headers.get("retry-after") ?? "", /^\d+$/);

  assert.equal((await t.as("owner").get(metricsPath(captureId))).status, 200);
  assert.equal(sts.calls.length, 3);
  for (const line of t.logLines) {
    for (const c of sts.issued) {
      assert.ok(!line.includes(c.secretAccessKey) && !line.includes(c.sessionToken!), line);
    }
    assert.ok(!line.includes(TEST_CREDENTIALS.secretAccessKey), line);
  }
});

Deno.test("a role without server-wide credentials to assume it with answers 409 naming the fix", async () => {
  await using s = await roleSetup({ AWS_ACCESS_KEY_ID: "", AWS_SECRET_ACCESS_KEY: "" });
  const { t, sts } = s;
  const { captureId } = await roleCapture(t, { roleArn: `${ROLE}-open` });
  const problem = await assertProblem(await t.as("owner").get(metricsPath(captureId)), 409);
  assert.match(problem.detail, /AWS_WEB_IDENTITY_TOKEN_FILE/);
  assert.equal(sts.calls.length, 0);
});

Deno.test("roleArn and externalId are validated, exclusive with credentials, and PATCH swaps sources", async () => {
  await using t = await testContext();
  const base = { region: "us-east-1", dbInstanceIdentifier: "prod-mysql-1" };
  const keys = { accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "s".repeat(40) };
  const bad: Array<[Record<string, unknown>, string]> = [
    [{ roleArn: "arn:aws:iam::12345:role/x" }, "roleArn"],
    [{ roleArn: "arn:aws:iam::123456789012:user/x" }, "roleArn"],
    [{ roleArn: "arn:aws:s3:::bucket" }, "roleArn"],
    [{ roleArn: ROLE, externalId: "x" }, "externalId"],
    [{ roleArn: ROLE, externalId: "has space" }, "externalId"],
    [{ roleArn: ROLE, externalId: "a".repeat(1225) }, "externalId"],
    [{ externalId: EXTERNAL_ID }, "externalId"],
    [{ roleArn: ROLE, credentials: keys }, "roleArn"],
  ];
  for (const [extra, path] of bad) {
    const res = await t.as("alice").post("/api/environments", { name: "x", ...base, ...extra });
    const problem = await assertProblem(res, 400);
    assert.deepEqual(problem.errors?.map((e) => e.path), [path], JSON.stringify(extra));
  }
  for (
    const [arn, region] of [
      ["arn:aws-cn:iam::123456789012:role/r", "cn-north-1"],
      ["arn:aws-us-gov:iam::123456789012:role/a/b/c", "us-gov-west-1"],
    ]
  ) {
    const res = await t.as("alice").post("/api/environments", {
      name: `ok-${arn.length}`,
      ...base,
      region,
      roleArn: arn,
    });
    assert.equal(res.status, 201, await res.text());
  }

  const created = await t.as("alice").post("/api/environments", {
    name: "swap",
    ...base,
    credentials: keys,
  });
  const { id } = await created.json();
  const toRole = await t.as("alice").patch(`/api/environments/${id}`, {
    roleArn: ROLE,
    externalId: EXTERNAL_ID,
  });
  assert.deepEqual((await toRole.json()).credentials, {
    source: "role",
    accessKeyId: null,
    roleArn: ROLE,
    externalId: EXTERNAL_ID,
    externalIdIssued: false,
  });
  let [row] = await t.db.select().from(environments).where(eq(
    environments.id,
    id,
  ));
  assert.deepEqual([row.accessKeyId, row.secretCiphertext, row.externalId], [
    null,
    null,
    EXTERNAL_ID,
  ]);
  const toKeys = await t.as("alice").patch(`/api/environments/${id}`, { credentials: keys });
  assert.equal((await toKeys.json()).credentials.source, "environment");
  [row] = await t.db.select().from(environments).where(eq(
    environments.id,
    id,
  ));
  assert.deepEqual([row.roleArn, row.externalId], [null, null]);
  // Without externalId capwatch issues one, and keeps it while the environment has a role.
  const issued = (await (await t.as("alice").patch(`/api/environments/${id}`, { roleArn: ROLE }))
    .json()).credentials;
  assert.match(issued.externalId, /^capwatch-[0-9a-f]{32}$/);
  assert.equal(issued.externalIdIssued, true);
  const again = await t.as("alice").patch(`/api/environments/${id}`, {
    roleArn: `${ROLE}-open`,
  });
  assert.equal((await again.json()).credentials.externalId, issued.externalId);
  // {"externalId": null} alone would change nothing: refused, naming the field.
  for (const body of [{ externalId: null }, { roleArn: null, externalId: EXTERNAL_ID }]) {
    const lone = await assertProblem(
      await t.as("alice").patch(`/api/environments/${id}`, body),
      400,
    );
    assert.deepEqual(lone.errors?.map((e) => e.path), ["externalId"]);
    assert.match(lone.errors![0].message, /send roleArn with it/);
  }
  const removed = await t.as("alice").patch(`/api/environments/${id}`, { roleArn: null });
  assert.deepEqual((await removed.json()).credentials, { source: "none", accessKeyId: null });
});

Deno.test("roleArn: every known partition is accepted; one not matching the region's partition is refused naming roleArn", async () => {
  await using t = await testContext();
  const base = { dbInstanceIdentifier: "prod-mysql-1" };
  const arn = (partition: string) => `arn:${partition}:iam::123456789012:role/capwatch`;
  for (
    const [region, partition] of [["eusc-de-east-1", "aws-eusc"], ["cn-north-1", "aws-cn"]]
  ) {
    const ok = await t.as("alice").post("/api/environments", {
      ...base,
      name: `ok-${partition}`,
      region,
      roleArn: arn(partition),
    });
    assert.equal(ok.status, 201, await ok.text());
  }
  const bad = await t.as("alice").post("/api/environments", {
    ...base,
    name: "mismatch",
    region: "cn-north-1",
    roleArn: arn("aws"),
  });
  const problem = await assertProblem(bad, 400);
  assert.ok(JSON.stringify(problem).includes("roleArn"), JSON.stringify(problem));
});

Deno.test("web identity: unsigned AssumeRoleWithWebIdentity, its credentials assume roles, token re-read on refresh", async () => {
  const dir = await Deno.makeTempDir({ prefix: "capwatch-web-identity-" });
  const tokenFile = `${dir}/token`;
  await Deno.writeTextFile(tokenFile, "oidc-token-one\n");
  // `${ROLE}-open` stands for the server's role here; the fake lets anyone in its list assume it.
  const serverRole = `${ROLE}-open`;
  const accept: FakeCredential[] = [];
  await using cloudwatch = await startFakeCloudWatch({ credentials: accept });
  const ref: { t?: TestContext } = {};
  const stsBase: FakeCredential[] = [];
  await using sts = startFakeSts({
    base: stsBase,
    roles: [{ arn: serverRole }, { arn: ROLE, externalId: EXTERNAL_ID }],
    accept,
    now: () => ref.t!.clock(),
  });
  sts.webTokens.set(serverRole, "oidc-token-one");
  const t = ref.t = await testContext({
    now: NOW,
    env: {
      CLOUDWATCH_ENDPOINT: cloudwatch.url,
      AWS_STS_ENDPOINT: sts.url,
      AWS_ROLE_ARN: serverRole,
      AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile,
    },
  });
  try {
    // Whatever STS issues for the web identity may sign AssumeRole too.
    const issuedBefore = () => sts.issued.filter((c) => !stsBase.includes(c));
    const { captureId: plain } = await roleCapture(t, {});
    assert.equal((await t.as("owner").get(metricsPath(plain))).status, 200);
    const web = sts.calls.at(-1)!;
    assert.equal(web.action, "AssumeRoleWithWebIdentity");
    assert.equal(web.authorization, null, "AssumeRoleWithWebIdentity was signed");
    assert.equal(web.params.WebIdentityToken, "oidc-token-one");
    assert.equal(web.params.RoleArn, serverRole);
    assert.equal(cloudwatch.calls.at(-1)!.accessKeyId, sts.issued[0].accessKeyId);
    stsBase.push(...issuedBefore());

    const { captureId } = await roleCapture(t, { roleArn: ROLE, externalId: EXTERNAL_ID });
    assert.equal((await t.as("owner").get(metricsPath(captureId))).status, 200);
    const assume = sts.calls.at(-1)!;
    assert.equal(assume.action, "AssumeRole");
    assert.equal(assume.accessKeyId, sts.issued[0].accessKeyId);
    assert.equal(cloudwatch.calls.at(-1)!.accessKeyId, sts.issued[1].accessKeyId);

    // The token file rotates; the next refresh reads the new token.
    await Deno.writeTextFile(tokenFile, "oidc-token-two\n");
    sts.webTokens.set(serverRole, "oidc-token-two");
    t.clock.advance(3600_000);
    assert.equal((await t.as("owner").get(metricsPath(plain))).status, 200);
    const refresh = sts.calls.findLast((c) => c.action === "AssumeRoleWithWebIdentity")!;
    assert.equal(refresh.params.WebIdentityToken, "oidc-token-two");
    assert.equal(sts.calls.filter((c) => c.action === "AssumeRoleWithWebIdentity").length, 2);
  } finally {
    await t[Symbol.asyncDispose]();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("container credentials: the endpoint's token is sent, its credentials read CloudWatch", async () => {
  const dir = await Deno.makeTempDir({ prefix: "capwatch-container-" });
  const tokenFile = `${dir}/token`;
  await Deno.writeTextFile(tokenFile, "container-token-1");
  const accept: FakeCredential[] = [];
  await using cloudwatch = await startFakeCloudWatch({ credentials: accept });
  const ref: { t?: TestContext } = {};
  await using endpoint = startFakeContainerCredentials({
    token: "container-token-1",
    accept,
    now: () => ref.t!.clock(),
  });
  const t = ref.t = await testContext({
    now: NOW,
    env: {
      CLOUDWATCH_ENDPOINT: cloudwatch.url,
      AWS_CONTAINER_CREDENTIALS_FULL_URI: endpoint.url,
      AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: tokenFile,
    },
  });
  try {
    const env = await t.createEnvironment("owner");
    const shown = await (await t.as("owner").get(`/api/environments/${env.id}`)).json();
    assert.deepEqual(shown.credentials, { source: "container", accessKeyId: null });
    const { captureId } = await roleCapture(t, {});
    assert.equal((await t.as("owner").get(metricsPath(captureId))).status, 200);
    assert.deepEqual(endpoint.authorizations, ["container-token-1"]);
    assert.equal(cloudwatch.calls.at(-1)!.accessKeyId, endpoint.issued[0].accessKeyId);

    // A token the endpoint refuses, at the next refresh, is an upstream failure (502).
    endpoint.token = "container-token-2";
    t.clock.advance(6 * 3600_000);
    const problem = await assertProblem(await t.as("owner").get(metricsPath(captureId)), 502);
    assert.match(problem.detail, /^container credentials: .*401/);
    await Deno.writeTextFile(tokenFile, "container-token-2");
    assert.equal((await t.as("owner").get(metricsPath(captureId))).status, 200);
    assert.equal(cloudwatch.calls.at(-1)!.accessKeyId, endpoint.issued[1].accessKeyId);
  } finally {
    await t[Symbol.asyncDispose]();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an unreadable token file (a directory, missing, empty) answers 503 naming its variable, the path only in the log", async () => {
  const dir = await Deno.makeTempDir({ prefix: "capwatch-token-dir-" });
  await Deno.writeTextFile(`${dir}/empty`, "\n");
  const cases: Array<[Record<string, string>, string]> = [
    [
      { AWS_ROLE_ARN: ROLE, AWS_WEB_IDENTITY_TOKEN_FILE: `${dir}/empty` },
      "AWS_WEB_IDENTITY_TOKEN_FILE",
    ],
    [{
      AWS_CONTAINER_CREDENTIALS_FULL_URI: "http://127.0.0.1:9/creds",
      AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: dir,
    }, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"],
    [
      { AWS_ROLE_ARN: ROLE, AWS_WEB_IDENTITY_TOKEN_FILE: `${dir}/missing` },
      "AWS_WEB_IDENTITY_TOKEN_FILE",
    ],
  ];
  try {
    for (const [env, variable] of cases) {
      await using t = await testContext({ now: NOW, env });
      const { captureId } = await roleCapture(t, {});
      const problem = await assertProblem(await t.as("owner").get(metricsPath(captureId)), 503);
      assert.match(problem.detail, new RegExp(variable));
      assert.ok(!problem.detail.includes(dir), problem.detail);
      assert.doesNotMatch(
        problem.detail,
        variable.includes("CONTAINER") ? /web identity/ : /CONTAINER/,
      );
      const logged = t.logLines.find((l) => l.includes("cannot read an AWS token file"));
      assert.ok(logged?.includes(dir) && logged.includes(variable), t.logLines.join("\n"));
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the snapshot sweep uses the same assumed-role credentials as requests", async () => {
  await using s = await roleSetup();
  const { t, sts, cloudwatch } = s;
  const { captureId } = await roleCapture(t, { roleArn: `${ROLE}-open` });
  assert.equal((await t.as("owner").get(metricsPath(captureId))).status, 200);
  const snapshotter = createSnapshotter({
    db: t.db,
    cloudwatch: t.deps.cloudwatch,
    credentials: t.deps.credentialProvider,
    logger: t.deps.logger,
  });
  assert.deepEqual(await snapshotter.run(t.clock()), { stored: 1, failed: 0 });
  assert.equal(sts.calls.length, 1, "the sweep assumed the role again");
  const [header] = await t.db.select().from(captureSnapshots).where(
    eq(captureSnapshots.captureId, captureId),
  );
  assert.ok(header, "no snapshot was stored");
  assert.ok(cloudwatch.calls.every((c) => c.accessKeyId === sts.issued[0].accessKeyId));
});
