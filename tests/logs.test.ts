import assert from "node:assert/strict";
import { mintToken } from "../auth/mint.ts";
import { startFakeCloudWatch, TEST_CREDENTIALS } from "./fakes/cloudwatch.ts";
import { TEST_CREDENTIALS_KEY, TEST_SECRET } from "./helpers/context.ts";
import { logLines, spawnDeno, startServer, taskArgs, within } from "./helpers/process.ts";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** An environment's own credentials, with a session token, as a user would post them. */
const ENV_CREDENTIALS = {
  accessKeyId: "AKIALOGSTEST00000001",
  secretAccessKey: "logs/Test+EnvironmentSecret0000000000000",
  sessionToken: "logs-test-session-token-FwoGZXIvYXdzEXAMPLE",
};

Deno.test("main.ts logs one JSON line per request, without tokens, secrets or bodies", async () => {
  await using fake = await startFakeCloudWatch({ credentials: [ENV_CREDENTIALS] });
  await using server = await startServer({
    LOG_LEVEL: "debug",
    CREDENTIALS_KEY: TEST_CREDENTIALS_KEY,
    CLOUDWATCH_ENDPOINT: fake.url,
    // Server-wide credentials the environment overrides; their secret must not show up either.
    AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
  });
  const token = await mintToken(TEST_SECRET, { sub: "log-user" });
  const bodyMarker = `body-marker-${crypto.randomUUID().slice(0, 8)}`;
  const sent: Array<{ method: string; route: string | null; status: number; id: string }> = [];

  const call = async (
    method: string,
    path: string,
    route: string | null,
    options: { body?: unknown; headers?: Record<string, string>; auth?: string | null } = {},
  ) => {
    const headers: Record<string, string> = { ...options.headers };
    const auth = options.auth === undefined ? token : options.auth;
    if (auth) headers.Authorization = `Bearer ${auth}`;
    if (options.body !== undefined) headers["Content-Type"] = "application/json";
    const res = await fetch(`${server.url}${path}`, {
      method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
    });
    const text = await res.text();
    const id = res.headers.get("x-request-id") ?? "";
    sent.push({ method, route, status: res.status, id });
    return { status: res.status, id, body: text ? JSON.parse(text) : null };
  };

  const env = await call("POST", "/api/environments", "/api/environments", {
    body: {
      name: bodyMarker,
      region: "us-east-1",
      dbInstanceIdentifier: "logs-db",
      credentials: ENV_CREDENTIALS,
    },
  });
  assert.equal(env.status, 201, JSON.stringify(env.body));
  const capture = await call("POST", "/api/captures", "/api/captures", {
    body: {
      name: `${bodyMarker}-capture`,
      envId: env.body.id,
      start: new Date(Date.now() - 30 * 60_000).toISOString(),
    },
  });
  assert.equal(capture.status, 201);
  const metrics = `/api/captures/${capture.body.id}/metrics?type=CPUUtilization`;
  const ok = await call("GET", metrics, "/api/captures/:id/metrics");
  assert.equal(ok.status, 200);
  fake.faults.push("accessDenied");
  const denied = await call("GET", metrics, "/api/captures/:id/metrics");
  assert.equal(denied.status, 502);

  const fromClient = await call("GET", "/health", "/health", {
    headers: { "X-Request-Id": "logs-test-1" },
    auth: null,
  });
  assert.equal(fromClient.id, "logs-test-1");
  const replaced = await call("GET", "/health", "/health", {
    headers: { "X-Request-Id": "not a valid id" },
    auth: null,
  });
  assert.match(replaced.id, UUID);
  const tampered = await call("GET", "/api/captures", "/api/captures", { auth: `${token}x` });
  assert.equal(tampered.status, 401);
  const unknown = await call("GET", `/nowhere?token=${token}`, null);
  assert.equal(unknown.status, 404);

  server.kill("SIGTERM");
  assert.equal((await within(server.status, 15_000, "exiting")).code, 0);

  const logs = logLines(server);
  for (const line of logs) {
    assert.equal(typeof line.time, "string");
    assert.ok(["debug", "info", "warn", "error"].includes(String(line.level)), String(line.level));
    assert.equal(typeof line.msg, "string");
  }
  const requests = logs.filter((l) => l.msg === "request");
  assert.equal(requests.length, sent.length, "one line per request");
  for (const expected of sent) {
    const line = requests.find((l) => l.requestId === expected.id);
    assert.ok(line, `no log line for request ${expected.id}`);
    assert.equal(line.method, expected.method);
    assert.equal(line.route, expected.route);
    assert.equal(line.status, expected.status);
    assert.equal(typeof line.durationMs, "number");
    assert.ok((line.durationMs as number) >= 0);
    assert.equal(
      line.userId,
      expected.status === 401 || !expected.route?.startsWith("/api") ? null : "log-user",
    );
  }
  const attempts = logs.filter((l) => l.msg === "cloudwatch");
  assert.ok(attempts.length >= 2, "LOG_LEVEL=debug passes the CloudWatch client's events through");
  assert.ok(attempts.some((l) => l.code === "AccessDenied" && typeof l.awsRequestId === "string"));

  const everything = [...server.stdout, ...server.stderr].join("\n");
  const secrets = {
    token,
    "the JWT secret": TEST_SECRET,
    "the credentials key": TEST_CREDENTIALS_KEY,
    "the environment's secret key": ENV_CREDENTIALS.secretAccessKey,
    "the environment's session token": ENV_CREDENTIALS.sessionToken,
    "the server's secret key": TEST_CREDENTIALS.secretAccessKey,
    "a request body": bodyMarker,
  };
  for (const [what, secret] of Object.entries(secrets)) {
    assert.ok(!everything.includes(secret), `the output contains ${what}`);
  }
});

Deno.test("main.ts with LOG_LEVEL=warn logs no request lines", async () => {
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = probe.addr.port;
  probe.close();
  const dir = await Deno.makeTempDir({ prefix: "capwatch-logs-" });
  await using child = spawnDeno(await taskArgs("start"), {
    PORT: String(port),
    DATABASE_URL: `file:${dir}/capwatch.db`,
    JWT_SECRET: TEST_SECRET,
    LOG_LEVEL: "warn",
  });
  try {
    const url = `http://127.0.0.1:${port}`;
    let status = 0;
    for (let i = 0; i < 300 && status !== 200; i++) {
      status = await fetch(`${url}/health`).then(async (r) => {
        await r.body?.cancel();
        return r.status;
      }, () => 0);
      if (status !== 200) await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(status, 200, child.stderr.join("\n"));
    const res = await fetch(`${url}/api/captures`);
    assert.equal(res.status, 401);
    await res.body?.cancel();

    child.kill("SIGTERM");
    assert.equal((await within(child.status, 15_000, "exiting")).code, 0);
    const levels = new Set(logLines(child).map((l) => l.level));
    assert.ok(!levels.has("info") && !levels.has("debug"), [...levels].join(", "));
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
