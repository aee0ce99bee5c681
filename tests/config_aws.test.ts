import assert from "node:assert/strict";
import { ConfigError, loadConfig } from "../config.ts";

const ROLE = "arn:aws:iam::123456789012:role/capwatch";
const key = (fill: number) => btoa(String.fromCharCode(...new Uint8Array(32).fill(fill)));

function assertRefused(env: Record<string, string>, variable: string) {
  assert.throws(() => loadConfig(env), (error) => {
    assert.ok(error instanceof ConfigError);
    assert.ok(error.message.includes(variable), error.message);
    assert.ok(!error.message.includes("\n"));
    return true;
  });
}

Deno.test("loadConfig() reads web identity, container credentials and the STS endpoint", () => {
  const web = loadConfig({
    AWS_ROLE_ARN: ROLE,
    AWS_WEB_IDENTITY_TOKEN_FILE: "/var/run/token",
    AWS_REGION: "eu-west-1",
    AWS_STS_ENDPOINT: "http://127.0.0.1:4566/",
  });
  assert.deepEqual(web.aws, {
    stsEndpoint: "http://127.0.0.1:4566/",
    webIdentity: {
      roleArn: ROLE,
      tokenFile: "/var/run/token",
      sessionName: "capwatch",
      region: "eu-west-1",
    },
  });
  const ecs = loadConfig({
    AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: "/v2/credentials/abc",
    AWS_CONTAINER_AUTHORIZATION_TOKEN: "t",
  });
  assert.deepEqual(ecs.aws?.container, {
    url: "http://169.254.170.2/v2/credentials/abc",
    token: "t",
    tokenFile: undefined,
  });
  for (
    const url of [
      "http://127.0.0.1:9/c",
      "http://169.254.170.23/v1/credentials",
      "https://x.example/c",
    ]
  ) {
    assert.equal(loadConfig({ AWS_CONTAINER_CREDENTIALS_FULL_URI: url }).aws?.container?.url, url);
  }
  assert.equal(loadConfig({}).aws, undefined);
});

Deno.test("loadConfig() refuses half a web identity, a bad role ARN and plain http to a remote host", () => {
  assertRefused({ AWS_ROLE_ARN: ROLE }, "AWS_WEB_IDENTITY_TOKEN_FILE");
  assertRefused({ AWS_WEB_IDENTITY_TOKEN_FILE: "/t" }, "AWS_ROLE_ARN");
  assertRefused(
    { AWS_ROLE_ARN: "arn:aws:iam::1:role/x", AWS_WEB_IDENTITY_TOKEN_FILE: "/t" },
    "AWS_ROLE_ARN",
  );
  assertRefused(
    { AWS_CONTAINER_CREDENTIALS_FULL_URI: "http://10.0.0.5/creds" },
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
  );
  assertRefused({ AWS_STS_ENDPOINT: "sts.example" }, "AWS_STS_ENDPOINT");
});

Deno.test("loadConfig() refuses an AWS_REGION or AWS_DEFAULT_REGION no partition serves, in one line", () => {
  for (const name of ["AWS_REGION", "AWS_DEFAULT_REGION"]) {
    for (const region of ["bogus", "zz-west-1", "US-EAST-1"]) {
      assertRefused(
        { AWS_ROLE_ARN: ROLE, AWS_WEB_IDENTITY_TOKEN_FILE: "/t", [name]: region },
        name,
      );
    }
  }
  for (const region of ["us-east-1", "cn-north-1", "eusc-de-east-1", "us-gov-west-1"]) {
    assert.equal(loadConfig({ AWS_REGION: region }).aws, undefined);
  }
  // Only the variable in effect is judged: AWS_REGION wins over AWS_DEFAULT_REGION, as in the SDKs.
  loadConfig({ AWS_REGION: "us-east-1", AWS_DEFAULT_REGION: "bogus" });
});

Deno.test("loadConfig() reads CREDENTIALS_KEY_PREVIOUS as one or more 32-byte keys", () => {
  const config = loadConfig({
    CREDENTIALS_KEY: key(2),
    CREDENTIALS_KEY_PREVIOUS: `${key(1)}, ${key(3)}`,
  });
  assert.deepEqual(config.previousCredentialsKeys, [
    new Uint8Array(32).fill(1),
    new Uint8Array(32).fill(3),
  ]);
  assertRefused(
    { CREDENTIALS_KEY: key(2), CREDENTIALS_KEY_PREVIOUS: "c2hvcnQ=" },
    "CREDENTIALS_KEY_PREVIOUS",
  );
});
