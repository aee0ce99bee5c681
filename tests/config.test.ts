import assert from "node:assert/strict";
import { ConfigError, isLoopback, loadConfig } from "../config.ts";
import { spawnDeno, startServer, taskArgs } from "./helpers/process.ts";

const projectRoot = new URL("..", import.meta.url);
const VALID_SECRET = "a-shared-secret-of-at-least-32-bytes";
const key = (bytes: number) => btoa(String.fromCharCode(...new Uint8Array(bytes).fill(1)));

/** Asserts loadConfig(env) throws a one-line ConfigError naming `variable`; returns the message. */
function assertConfigError(env: Record<string, string>, variable: string): string {
  let caught: unknown;
  try {
    loadConfig(env);
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof ConfigError, `expected a ConfigError for ${JSON.stringify(env)}`);
  const { message } = caught;
  assert.ok(!message.includes("\n"), `not one line: ${message}`);
  assert.ok(message.includes(variable), `"${message}" does not name ${variable}`);
  return message;
}

Deno.test("loadConfig() applies the documented defaults to an empty environment", () => {
  const config = loadConfig({});
  assert.equal(config.port, 8000);
  assert.equal(config.host, "127.0.0.1");
  assert.equal(config.databaseUrl, "file:data/capwatch.db");
  assert.equal(config.databaseAuthToken, undefined);
  assert.deepEqual(config.jwt, {
    secret: undefined,
    jwksUrl: undefined,
    issuer: undefined,
    audience: undefined,
    typ: undefined,
    maxAgeSeconds: 24 * 3600,
  });
  assert.equal(config.credentialsKey, undefined);
  assert.equal(config.awsCredentials, undefined);
  assert.equal(config.cloudwatchEndpoint, undefined);
  assert.equal(config.logLevel, "info");
  assert.equal(config.onDeploy, false);
});

Deno.test("loadConfig() treats empty variables as unset", () => {
  const config = loadConfig({
    PORT: "",
    JWT_SECRET: "",
    JWKS_URL: "",
    CREDENTIALS_KEY: "",
    AWS_ACCESS_KEY_ID: "",
    AWS_SECRET_ACCESS_KEY: "",
  });
  assert.equal(config.port, 8000);
  assert.equal(config.jwt.secret, undefined);
  assert.equal(config.jwt.jwksUrl, undefined);
  assert.equal(config.credentialsKey, undefined);
  assert.equal(config.awsCredentials, undefined);
});

Deno.test("loadConfig() reads every variable it is given", () => {
  const config = loadConfig({
    PORT: "0",
    HOST: "0.0.0.0",
    DATABASE_URL: "libsql://capwatch.turso.io",
    DATABASE_AUTH_TOKEN: "turso-token",
    JWT_SECRET: VALID_SECRET,
    JWKS_URL: "https://id.example.com/.well-known/jwks.json",
    JWT_ISSUER: "https://id.example.com/",
    JWT_AUDIENCE: "capwatch",
    CREDENTIALS_KEY: key(32),
    AWS_ACCESS_KEY_ID: "AKIAIOSFODNN7EXAMPLE",
    AWS_SECRET_ACCESS_KEY: "server-wide-secret-access-key",
    AWS_SESSION_TOKEN: "server-wide-session",
    CLOUDWATCH_ENDPOINT: "http://127.0.0.1:4566",
    LOG_LEVEL: "debug",
    DENO_DEPLOYMENT_ID: "abc123",
  });
  assert.equal(config.port, 0);
  assert.equal(config.host, "0.0.0.0");
  assert.equal(config.databaseUrl, "libsql://capwatch.turso.io");
  assert.equal(config.databaseAuthToken, "turso-token");
  assert.deepEqual(config.jwt, {
    secret: VALID_SECRET,
    jwksUrl: "https://id.example.com/.well-known/jwks.json",
    issuer: "https://id.example.com/",
    audience: "capwatch",
    typ: undefined,
    maxAgeSeconds: 24 * 3600,
  });
  assert.deepEqual(config.credentialsKey, new Uint8Array(32).fill(1));
  assert.deepEqual(config.awsCredentials, {
    accessKeyId: "AKIAIOSFODNN7EXAMPLE",
    secretAccessKey: "server-wide-secret-access-key",
    sessionToken: "server-wide-session",
  });
  assert.equal(config.cloudwatchEndpoint, "http://127.0.0.1:4566");
  assert.equal(config.logLevel, "debug");
  assert.equal(config.onDeploy, true);
});

Deno.test("loadConfig() accepts each documented DATABASE_URL form", () => {
  for (
    const url of [
      "file:data/capwatch.db",
      ":memory:",
      "libsql://db.turso.io",
      "https://db.turso.io",
      "wss://db.turso.io",
    ]
  ) {
    assert.equal(loadConfig({ DATABASE_URL: url }).databaseUrl, url);
  }
});

Deno.test("loadConfig() rejects a PORT that is not a port number", () => {
  for (const port of ["http", "8000abc", "80.5", "-1", "65536"]) {
    assertConfigError({ PORT: port }, "PORT");
  }
});

Deno.test("loadConfig() rejects a DATABASE_URL of an unsupported kind", () => {
  for (const url of ["postgres://localhost/capwatch", "data/capwatch.db", "memory"]) {
    assertConfigError({ DATABASE_URL: url }, "DATABASE_URL");
  }
});

Deno.test("loadConfig() rejects a JWT_SECRET under 32 bytes without echoing it", () => {
  const secret = "x".repeat(31);
  const message = assertConfigError({ JWT_SECRET: secret }, "JWT_SECRET");
  assert.ok(!message.includes(secret), message);
  assert.equal(loadConfig({ JWT_SECRET: "x".repeat(32) }).jwt.secret, "x".repeat(32));
});

Deno.test("loadConfig() rejects a JWKS_URL that is not an http(s) URL", () => {
  for (const url of ["not a url", "jwks.json", "ftp://id.example.com/jwks.json"]) {
    assertConfigError({ JWKS_URL: url }, "JWKS_URL");
  }
});

Deno.test("loadConfig() rejects a CREDENTIALS_KEY that is not base64 of 32 bytes", () => {
  for (const value of ["not base64!", key(16), key(33), "x".repeat(44)]) {
    const message = assertConfigError({ CREDENTIALS_KEY: value }, "CREDENTIALS_KEY");
    assert.ok(!message.includes(value), message);
  }
});

Deno.test("loadConfig() refuses CREDENTIALS_KEY_PREVIOUS or _NEXT without CREDENTIALS_KEY; reads both and SWEEP_INTERVAL", () => {
  assertConfigError({ CREDENTIALS_KEY_PREVIOUS: key(32) }, "CREDENTIALS_KEY_PREVIOUS");
  assertConfigError({ CREDENTIALS_KEY_NEXT: key(32) }, "CREDENTIALS_KEY_NEXT");
  assertConfigError(
    { CREDENTIALS_KEY: key(32), CREDENTIALS_KEY_NEXT: key(16) },
    "CREDENTIALS_KEY_NEXT",
  );
  const config = loadConfig({
    CREDENTIALS_KEY: key(32),
    CREDENTIALS_KEY_NEXT: `${key(32)}, ${key(32)}`,
    SWEEP_INTERVAL: "5s",
  });
  assert.equal(config.nextCredentialsKeys?.length, 2);
  assert.equal(config.sweepIntervalMs, 5000);
  assert.equal(loadConfig({}).sweepIntervalMs, 60_000);
  assertConfigError({ SWEEP_INTERVAL: "soon" }, "SWEEP_INTERVAL");
});

Deno.test("loadConfig() rejects an AWS access key id without its secret and the reverse", () => {
  const secret = "server-wide-secret-access-key";
  assertConfigError({ AWS_ACCESS_KEY_ID: "AKIAIOSFODNN7EXAMPLE" }, "AWS_SECRET_ACCESS_KEY");
  const message = assertConfigError({ AWS_SECRET_ACCESS_KEY: secret }, "AWS_ACCESS_KEY_ID");
  assert.ok(!message.includes(secret), message);
});

Deno.test("loadConfig() rejects an unknown LOG_LEVEL", () => {
  assertConfigError({ LOG_LEVEL: "verbose" }, "LOG_LEVEL");
});

Deno.test("loadConfig() rejects a CLOUDWATCH_ENDPOINT that is not an http(s) URL", () => {
  assertConfigError(
    { CLOUDWATCH_ENDPOINT: "monitoring.us-east-1.amazonaws.com" },
    "CLOUDWATCH_ENDPOINT",
  );
});

Deno.test("main.ts exits 1 with one stderr line naming JWT_SECRET when it is too short", async () => {
  const dir = await Deno.makeTempDir({ prefix: "capwatch-config-" });
  try {
    const dbPath = `${dir}/never-created/capwatch.db`;
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "main.ts"],
      cwd: projectRoot,
      env: { JWT_SECRET: "short", DATABASE_URL: `file:${dbPath}`, NO_COLOR: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(output.stderr);
    const lines = stderr.split("\n").filter((line) => line.trim() !== "");
    assert.equal(output.code, 1, stderr);
    assert.equal(lines.length, 1, `expected one line, got:\n${stderr}`);
    assert.match(lines[0], /JWT_SECRET/);
    assert.ok(!lines[0].includes("short"), lines[0]);
    assert.equal(new TextDecoder().decode(output.stdout), "");
    // Configuration is checked before anything touches the disk.
    await assert.rejects(Deno.stat(`${dir}/never-created`), Deno.errors.NotFound);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadConfig() treats blank HOST, DATABASE_URL and LOG_LEVEL as unset", () => {
  const config = loadConfig({ HOST: "", DATABASE_URL: "", LOG_LEVEL: "", JWT_SECRET: "" });
  assert.equal(config.host, "127.0.0.1");
  assert.equal(config.databaseUrl, "file:data/capwatch.db");
  assert.equal(config.logLevel, "info");
  assert.equal(config.jwt.secret, undefined);
});

Deno.test("loadConfig() refuses dev mode on a non-loopback HOST, naming the fix", () => {
  for (
    const host of ["0.0.0.0", "::", "[::]", "10.1.2.3", "192.168.0.10", "capwatch.example.com"]
  ) {
    const message = assertConfigError({ HOST: host }, "HOST");
    assert.match(message, /set JWT_SECRET or JWKS_URL, or HOST=127\.0\.0\.1/, host);
    // Blank secrets are unset, so they do not make a public dev server either.
    assertConfigError({ HOST: host, JWT_SECRET: "", JWKS_URL: "" }, "HOST");
  }
});

Deno.test("loadConfig() allows dev mode on every loopback spelling", () => {
  for (const host of ["127.0.0.1", "127.0.0.2", "127.255.255.254", "localhost", "::1", "[::1]"]) {
    assert.equal(loadConfig({ HOST: host }).host, host);
  }
});

Deno.test("loadConfig() allows any HOST once JWT_SECRET or JWKS_URL is set", () => {
  assert.equal(loadConfig({ HOST: "0.0.0.0", JWT_SECRET: VALID_SECRET }).host, "0.0.0.0");
  assert.equal(
    loadConfig({
      HOST: "::",
      JWKS_URL: "https://id.example.com/.well-known/jwks.json",
      JWT_ISSUER: "https://id.example.com/",
      JWT_AUDIENCE: "capwatch",
    }).host,
    "::",
  );
});

Deno.test("isLoopback() reads the addresses the resolver would", () => {
  for (const host of ["127.1", "0:0:0:0:0:0:0:1", "::ffff:127.0.0.1", "LOCALHOST"]) {
    assert.ok(isLoopback(host), host);
  }
  for (const host of ["0.0.0.0", "::", "128.0.0.1", "1.127.0.0", "localhost.example.com", ""]) {
    assert.ok(!isLoopback(host), host);
  }
});

Deno.test("deno task start refuses dev mode on HOST=0.0.0.0 with one line and prints no token", async () => {
  const dir = await Deno.makeTempDir({ prefix: "capwatch-config-" });
  try {
    const child = spawnDeno(await taskArgs("start"), {
      HOST: "0.0.0.0",
      PORT: "0",
      DATABASE_URL: `file:${dir}/never-created/capwatch.db`,
    });
    const status = await child.status;
    const lines = child.stderr.filter((line) => line.trim() !== "");
    assert.equal(status.code, 1, child.stderr.join("\n"));
    assert.deepEqual(lines, [
      "capwatch: Invalid configuration: HOST is 0.0.0.0, but dev mode (no JWT_SECRET or " +
      "JWKS_URL) listens on loopback only: set JWT_SECRET or JWKS_URL, or HOST=127.0.0.1",
    ]);
    assert.deepEqual(child.stdout.filter((line) => line.trim() !== ""), []);
    await assert.rejects(Deno.stat(`${dir}/never-created`), Deno.errors.NotFound);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadConfig() refuses JWKS_URL without JWT_AUDIENCE or JWT_ISSUER, naming the fix", () => {
  const jwks = "https://id.example.com/.well-known/jwks.json";
  const noAudience = assertConfigError(
    { JWKS_URL: jwks, JWT_ISSUER: "https://id.example.com/" },
    "JWT_AUDIENCE",
  );
  assert.match(noAudience, /must be set with JWKS_URL/);
  assertConfigError({ JWKS_URL: jwks, JWT_AUDIENCE: "capwatch" }, "JWT_ISSUER");
  assert.ok(!noAudience.includes("\n"), "one line");
  // Whitespace is not a value: blank or padded ones are refused, naming the variable.
  for (const blank of ["   ", "\t", " capwatch"]) {
    const issuer = { JWKS_URL: jwks, JWT_ISSUER: blank, JWT_AUDIENCE: "capwatch" };
    assert.match(assertConfigError(issuer, "JWT_ISSUER"), /blank/);
    const audience = { JWKS_URL: jwks, JWT_ISSUER: "https://id.example.com/", JWT_AUDIENCE: blank };
    assert.match(assertConfigError(audience, "JWT_AUDIENCE"), /blank/);
  }
});

Deno.test("loadConfig() reads JWT_MAX_AGE, JWT_TYP, the instance allowlist and quotas", () => {
  const config = loadConfig({
    JWT_MAX_AGE: "15m",
    JWT_TYP: "at+jwt",
    AWS_INSTANCE_ALLOWLIST: "prod-*, arn:aws:rds:eu-west-1:123456789012:db:orders",
    AWS_SERVER_CREDENTIAL_USERS: "ops-1,ops-2",
    QUOTA_ENVIRONMENTS_PER_USER: "3",
    QUOTA_METRICS_REQUESTS_PER_MINUTE: "0",
  });
  assert.equal(config.jwt.maxAgeSeconds, 900);
  assert.equal(config.jwt.typ, "at+jwt");
  assert.deepEqual(config.serverCredentialPolicy, {
    instances: ["prod-*", "arn:aws:rds:eu-west-1:123456789012:db:orders"],
    users: ["ops-1", "ops-2"],
  });
  assert.equal(config.quotas.environmentsPerUser, 3);
  assert.equal(config.quotas.metricsRequestsPerMinute, 0);
  assert.equal(config.quotas.capturesPerEnvironment, 1000);
  assertConfigError({ JWT_MAX_AGE: "forever" }, "JWT_MAX_AGE");
  assertConfigError({ QUOTA_CAPTURES_PER_ENVIRONMENT: "-1" }, "QUOTA_CAPTURES_PER_ENVIRONMENT");
  assertConfigError({ AWS_INSTANCE_ALLOWLIST: "arn:aws:ec2:x" }, "AWS_INSTANCE_ALLOWLIST");
});

Deno.test("HOST=::1: the logged URL brackets the IPv6 host, and it answers", async () => {
  await using server = await startServer({ HOST: "::1" });
  assert.match(server.url, /^http:\/\/\[::1\]:\d+$/);
  const res = await fetch(`${server.url}/health`);
  await res.body?.cancel();
  assert.ok(res.status < 500, String(res.status));
});
