/** JWKS mode against a real key server over HTTP: tokens must mean what they say (issue 17). */
import assert from "node:assert/strict";
import { exportJWK, generateKeyPair, type JWK, type JWTPayload, SignJWT } from "jose";
import { JWKS_REFETCH_COOLDOWN_MS } from "../auth/jwt.ts";
import { TEST_SECRET, testContext } from "./helpers/context.ts";
import { assertProblem } from "./helpers/problem.ts";

const NOW = "2026-01-01T00:00:00Z";
const NOW_SECONDS = Date.parse(NOW) / 1000;
const ISSUER = "https://id.example.com/";
const AUDIENCE = "capwatch";

/** A JWKS endpoint on a random local port whose key list the test can change; counts fetches. */
function keyServer() {
  const keys: JWK[] = [];
  let fetches = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async () => {
    fetches++;
    // A slow answer, so unknown kids arriving together really overlap one fetch.
    await new Promise((resolve) => setTimeout(resolve, 50));
    return Response.json({ keys });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}/jwks.json`,
    fetches: () => fetches,
    async publish(kid: string) {
      const { privateKey, publicKey } = await generateKeyPair("RS256", { extractable: true });
      keys.push({ ...await exportJWK(publicKey), kid, alg: "RS256", use: "sig" });
      return privateKey;
    },
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

function sign(
  key: Parameters<SignJWT["sign"]>[0],
  kid: string | undefined,
  extra: JWTPayload = {},
  typ?: string,
): Promise<string> {
  return new SignJWT({
    sub: "alice",
    iss: ISSUER,
    aud: AUDIENCE,
    iat: NOW_SECONDS,
    exp: NOW_SECONDS + 3600,
    ...extra,
  }).setProtectedHeader({ alg: "RS256", ...(kid ? { kid } : {}), ...(typ ? { typ } : {}) })
    .sign(key);
}

async function jwksContext(url: string, env: Record<string, string> = {}) {
  return await testContext({
    now: NOW,
    env: { JWKS_URL: url, JWT_ISSUER: ISSUER, JWT_AUDIENCE: AUDIENCE, JWT_SECRET: "", ...env },
  });
}

function list(
  app: { request: (path: string, init: RequestInit) => Response | Promise<Response> },
  token: string,
) {
  return app.request("/api/environments", { headers: { Authorization: `Bearer ${token}` } });
}

Deno.test("JWKS mode refuses tokens for another audience, from another issuer, without kid or iat", async () => {
  await using keys = keyServer();
  const key = await keys.publish("k1");
  await using t = await jwksContext(keys.url);
  assert.equal((await list(t.app, await sign(key, "k1"))).status, 200, "the control token works");
  const refusals: [string, Promise<string>, RegExp][] = [
    ["audience", sign(key, "k1", { aud: "another-app" }), /aud claim/],
    ["issuer", sign(key, "k1", { iss: "https://other.example.com/" }), /iss claim/],
    ["no aud", sign(key, "k1", { aud: undefined }), /aud claim/],
    ["no kid", sign(key, undefined), /kid/],
    ["no iat", sign(key, "k1", { iat: undefined }), /iat/],
  ];
  for (const [what, token, detail] of refusals) {
    const res = await list(t.app, await token);
    const body = await assertProblem(res, 401);
    assert.match(body.detail, detail, what);
    assert.match(res.headers.get("www-authenticate") ?? "", /invalid_token/, what);
  }
});

Deno.test("JWKS mode refuses a token older than JWT_MAX_AGE and one issued in the future", async () => {
  await using keys = keyServer();
  const key = await keys.publish("k1");
  await using t = await jwksContext(keys.url, { JWT_MAX_AGE: "1h" });
  const old = await sign(key, "k1", { iat: NOW_SECONDS - 2 * 3600, exp: NOW_SECONDS + 3600 });
  assert.match((await assertProblem(await list(t.app, old), 401)).detail, /older than/);
  // Within the 60 s clock tolerance is fine; beyond it is not.
  const skewed = await sign(key, "k1", { iat: NOW_SECONDS + 30 });
  assert.equal((await list(t.app, skewed)).status, 200);
  const future = await sign(key, "k1", { iat: NOW_SECONDS + 600, exp: NOW_SECONDS + 3600 });
  assert.match((await assertProblem(await list(t.app, future), 401)).detail, /iat.*future/);
  // The default (24 h) applies when JWT_MAX_AGE is unset.
  await using d = await jwksContext(keys.url);
  const dayOld = await sign(key, "k1", { iat: NOW_SECONDS - 25 * 3600 });
  await assertProblem(await list(d.app, dayOld), 401);
  const hourOld = await sign(key, "k1", { iat: NOW_SECONDS - 3600 });
  assert.equal((await list(d.app, hourOld)).status, 200);
});

Deno.test("JWKS mode checks typ only when JWT_TYP is set", async () => {
  await using keys = keyServer();
  const key = await keys.publish("k1");
  await using t = await jwksContext(keys.url, { JWT_TYP: "at+jwt" });
  assert.equal((await list(t.app, await sign(key, "k1", {}, "at+jwt"))).status, 200);
  // RFC 8725 §3.11: "application/at+jwt" is the same type.
  assert.equal((await list(t.app, await sign(key, "k1", {}, "application/at+jwt"))).status, 200);
  for (const typ of ["refresh+jwt", "JWT", undefined]) {
    const res = await list(t.app, await sign(key, "k1", {}, typ));
    assert.match((await assertProblem(res, 401)).detail, /typ/, String(typ));
  }
  await using open = await jwksContext(keys.url);
  assert.equal((await list(open.app, await sign(key, "k1", {}, "JWT"))).status, 200);
});

Deno.test("JWKS mode accepts a key published and used at once; unknown kids together fetch once", async () => {
  await using keys = keyServer();
  const first = await keys.publish("k1");
  await using t = await jwksContext(keys.url);
  assert.equal((await list(t.app, await sign(first, "k1"))).status, 200);
  assert.equal(keys.fetches(), 1);
  // The last fetch must be older than the (short) cooldown; the test waits that long once.
  await new Promise((resolve) => setTimeout(resolve, JWKS_REFETCH_COOLDOWN_MS + 100));
  const rotated = await keys.publish("k2");
  assert.equal((await list(t.app, await sign(rotated, "k2"))).status, 200, "the new key works");
  assert.equal(keys.fetches(), 2, "one refetch for the unknown kid");

  await new Promise((resolve) => setTimeout(resolve, JWKS_REFETCH_COOLDOWN_MS + 100));
  const [a, b] = [await keys.publish("k3"), await keys.publish("k4")];
  const tokens = await Promise.all([sign(a, "k3"), sign(b, "k4"), sign(a, "k3"), sign(b, "k4")]);
  const answers = await Promise.all(tokens.map((token) => list(t.app, token)));
  assert.deepEqual(answers.map((res) => res.status), [200, 200, 200, 200]);
  assert.equal(keys.fetches(), 3, "concurrent unknown kids share one fetch");
  // A made-up kid right after a fetch does not hit the key server again (the cooldown).
  const stranger = await generateKeyPair("RS256");
  await assertProblem(await list(t.app, await sign(stranger.privateKey, "nobody")), 401);
  assert.equal(keys.fetches(), 3);
});

Deno.test("with JWT_SECRET and JWKS_URL both set, HS256 tokens need iat and are bound by JWT_MAX_AGE; HS256 alone is unchanged", async () => {
  await using keys = keyServer();
  await keys.publish("k1");
  const hs256 = (claims: JWTPayload) =>
    new SignJWT({ sub: "alice", iss: ISSUER, aud: AUDIENCE, exp: NOW_SECONDS + 3600, ...claims })
      .setProtectedHeader({ alg: "HS256", typ: "JWT" })
      .sign(new TextEncoder().encode(TEST_SECRET));
  const fresh = await hs256({ iat: NOW_SECONDS - 60 });
  const noIat = await hs256({});
  const old = await hs256({ iat: NOW_SECONDS - 2 * 3600 });

  await using both = await jwksContext(keys.url, { JWT_SECRET: TEST_SECRET, JWT_MAX_AGE: "1h" });
  assert.equal(both.config.jwt.secret, TEST_SECRET);
  assert.equal((await list(both.app, fresh)).status, 200, "a fresh HS256 token still works");
  assert.match((await assertProblem(await list(both.app, noIat), 401)).detail, /no iat/);
  assert.match((await assertProblem(await list(both.app, old), 401)).detail, /older than/);

  // HS256 alone keeps its rules: neither iat nor an age bound is asked for.
  await using alone = await testContext({
    now: NOW,
    env: { JWT_ISSUER: ISSUER, JWT_AUDIENCE: AUDIENCE },
  });
  assert.equal(alone.config.jwt.jwksUrl, undefined);
  for (const token of [fresh, noIat, old]) {
    assert.equal((await list(alone.app, token)).status, 200);
  }
});
