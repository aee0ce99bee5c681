import assert from "node:assert/strict";
import {
  base64url,
  exportJWK,
  exportSPKI,
  generateKeyPair,
  type JWK,
  type JWTPayload,
  SignJWT,
} from "jose";
import { mintToken } from "../auth/mint.ts";
import { TEST_SECRET, type TestContext, testContext } from "./helpers/context.ts";
import { assertProblem } from "./helpers/problem.ts";

const NOW = "2026-01-01T00:00:00Z";
const NOW_SECONDS = Date.parse(NOW) / 1000;
const encoder = new TextEncoder();
const JWKS_ISSUER = "https://id.example.com/";
const JWKS_AUDIENCE = "capwatch";
/** The settings JWKS mode needs, for a key server at `url`. */
const jwksEnv = (url: string) => ({
  JWKS_URL: url,
  JWT_ISSUER: JWKS_ISSUER,
  JWT_AUDIENCE: JWKS_AUDIENCE,
});

/** GET /api/environments with exactly the given Authorization header (or none). */
function listWith(t: TestContext, authorization?: string) {
  const headers: Record<string, string> = authorization ? { Authorization: authorization } : {};
  return t.app.request("/api/environments", { headers });
}

/** Signs `claims` with HS256 under `secret`; exp and sub are only present when given. */
function hs256(claims: JWTPayload, secret: string | Uint8Array = TEST_SECRET) {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .sign(typeof secret === "string" ? encoder.encode(secret) : secret);
}

/** Valid claims for `sub` at the test clock's now, overridable per test. */
const claims = (extra: JWTPayload = {}): JWTPayload => ({
  sub: "alice",
  // Ignored unless JWT_ISSUER / JWT_AUDIENCE are set; JWKS mode requires them.
  iss: JWKS_ISSUER,
  aud: JWKS_AUDIENCE,
  iat: NOW_SECONDS,
  exp: NOW_SECONDS + 3600,
  ...extra,
});

/** Asserts a 401 refusing the token: problem+json, invalid_token challenge, token not echoed. */
async function assertInvalidToken(res: Response, token: string | null, detail?: RegExp) {
  const challenge = res.headers.get("www-authenticate") ?? "";
  const body = await assertProblem(res, 401);
  assert.match(challenge, /^Bearer /);
  assert.match(challenge, /error="invalid_token"/);
  if (token) {
    assert.ok(!body.detail.includes(token), `the detail echoes the token: ${body.detail}`);
    assert.ok(!challenge.includes(token), `the challenge echoes the token: ${challenge}`);
  }
  if (detail) assert.match(body.detail, detail);
  return body;
}

/** Asserts the token got through: 200 with the (empty) environment list. */
async function assertAccepted(res: Response) {
  assert.equal(res.status, 200, await res.clone().text());
  assert.deepEqual(await res.json(), []);
  assert.equal(res.headers.get("www-authenticate"), null);
}

Deno.test("GET /api/environments without a token answers 401 with a bare Bearer challenge", async () => {
  await using t = await testContext({ now: NOW });
  const res = await t.as(null).get("/api/environments");
  const challenge = res.headers.get("www-authenticate") ?? "";
  const body = await assertProblem(res, 401);
  assert.match(challenge, /^Bearer realm="capwatch"$/);
  assert.ok(!challenge.includes("error="), challenge);
  assert.match(body.detail, /Authorization: Bearer/);
});

Deno.test("GET /api/environments accepts a valid HS256 token, with the scheme in any case", async () => {
  await using t = await testContext({ now: NOW });
  const token = await hs256(claims());
  await assertAccepted(await listWith(t, `Bearer ${token}`));
  await assertAccepted(await listWith(t, `bearer ${token}`));
});

Deno.test("GET /api/environments refuses an Authorization header that is not Bearer", async () => {
  await using t = await testContext({ now: NOW });
  const token = await hs256(claims());
  const basic = btoa("alice:password");
  await assertInvalidToken(await listWith(t, `Basic ${basic}`), basic, /Bearer <JWT>/);
  await assertInvalidToken(await listWith(t, token), token, /Bearer <JWT>/);
  await assertInvalidToken(await listWith(t, "Bearer"), null, /Bearer <JWT>/);
  await assertInvalidToken(await listWith(t, `Bearer ${token} extra`), token, /Bearer <JWT>/);
});

Deno.test("GET /api/environments refuses a token that is not a well-formed JWT", async () => {
  await using t = await testContext({ now: NOW });
  const valid = await hs256(claims());
  const [, payload, signature] = valid.split(".");
  const malformed = [
    "not-a-jwt",
    "a.b.c",
    valid.split(".").slice(0, 2).join("."),
    // A header that is base64url but not JSON.
    `${base64url.encode("not json")}.${payload}.${signature}`,
    // A JSON header without alg.
    `${base64url.encode(JSON.stringify({ typ: "JWT" }))}.${payload}.${signature}`,
    // A payload that is not JSON under a valid header.
    `${valid.split(".")[0]}.${base64url.encode("not json")}.${signature}`,
  ];
  for (const token of malformed) {
    await assertInvalidToken(await listWith(t, `Bearer ${token}`), token);
  }
});

Deno.test("GET /api/environments refuses a token signed with another secret", async () => {
  await using t = await testContext({ now: NOW });
  const token = await mintToken("another-secret-that-is-at-least-32-bytes", {
    sub: "alice",
    now: t.clock(),
  });
  await assertInvalidToken(await listWith(t, `Bearer ${token}`), token, /signature/);
});

Deno.test("GET /api/environments refuses a token with a tampered payload", async () => {
  await using t = await testContext({ now: NOW });
  const [header, , signature] = (await hs256(claims())).split(".");
  const payload = base64url.encode(JSON.stringify(claims({ sub: "mallory" })));
  const token = `${header}.${payload}.${signature}`;
  await assertInvalidToken(await listWith(t, `Bearer ${token}`), token, /signature/);
});

Deno.test("GET /api/environments refuses a token expired beyond the 60 s tolerance", async () => {
  await using t = await testContext({ now: NOW });
  const token = await hs256(claims({ iat: NOW_SECONDS - 3600, exp: NOW_SECONDS - 61 }));
  await assertInvalidToken(await listWith(t, `Bearer ${token}`), token, /expired/);
});

Deno.test("GET /api/environments accepts a token expired within the 60 s tolerance", async () => {
  await using t = await testContext({ now: NOW });
  const token = await hs256(claims({ iat: NOW_SECONDS - 3600, exp: NOW_SECONDS - 30 }));
  await assertAccepted(await listWith(t, `Bearer ${token}`));
});

Deno.test("GET /api/environments follows the injected clock when checking expiry", async () => {
  await using t = await testContext({ now: NOW });
  const token = await hs256(claims({ exp: NOW_SECONDS + 600 }));
  await assertAccepted(await listWith(t, `Bearer ${token}`));
  t.clock.advance(661_000);
  await assertInvalidToken(await listWith(t, `Bearer ${token}`), token, /expired/);
});

Deno.test("GET /api/environments refuses a token whose nbf is in the future", async () => {
  await using t = await testContext({ now: NOW });
  const token = await hs256(claims({ nbf: NOW_SECONDS + 120 }));
  await assertInvalidToken(await listWith(t, `Bearer ${token}`), token, /not valid yet/);
});

Deno.test("GET /api/environments says malformed, not 'not valid yet', for a non-numeric nbf, exp or iat", async () => {
  await using t = await testContext({ now: NOW });
  for (const claim of ["nbf", "exp", "iat"]) {
    for (const value of ["soon", String(NOW_SECONDS), null, { at: NOW_SECONDS }]) {
      const token = await hs256(claims({ [claim]: value }));
      const body = await assertInvalidToken(
        await listWith(t, `Bearer ${token}`),
        token,
        new RegExp(`${claim} claim is malformed`),
      );
      assert.doesNotMatch(body.detail, /not valid yet|expired/);
    }
  }
});

Deno.test("GET /api/environments refuses a token without exp", async () => {
  await using t = await testContext({ now: NOW });
  const token = await hs256({ sub: "alice", iat: NOW_SECONDS });
  await assertInvalidToken(await listWith(t, `Bearer ${token}`), token, /exp/);
});

Deno.test("GET /api/environments refuses a token without a subject", async () => {
  await using t = await testContext({ now: NOW });
  const missing = await hs256({ iat: NOW_SECONDS, exp: NOW_SECONDS + 3600 });
  await assertInvalidToken(await listWith(t, `Bearer ${missing}`), missing, /sub/);
  const empty = await hs256(claims({ sub: "" }));
  await assertInvalidToken(await listWith(t, `Bearer ${empty}`), empty, /sub/);
});

Deno.test("GET /api/environments checks JWT_ISSUER and JWT_AUDIENCE when they are set", async () => {
  await using t = await testContext({
    now: NOW,
    env: { JWT_ISSUER: "https://id.example.com/", JWT_AUDIENCE: "capwatch" },
  });
  const right = { iss: "https://id.example.com/", aud: "capwatch" };
  await assertAccepted(await listWith(t, `Bearer ${await hs256(claims(right))}`));
  const refused = [
    { ...right, iss: "https://evil.example.com/" },
    { ...right, aud: "another-api" },
    { iss: undefined, aud: "capwatch" },
    { iss: "https://id.example.com/", aud: undefined },
  ];
  for (const extra of refused) {
    const token = await hs256(claims(extra));
    await assertInvalidToken(await listWith(t, `Bearer ${token}`), token, /(iss|aud) claim/);
  }
});

Deno.test("GET /api/environments ignores iss and aud when JWT_ISSUER and JWT_AUDIENCE are unset", async () => {
  await using t = await testContext({ now: NOW });
  const token = await hs256(claims({ iss: "anyone", aud: "anything" }));
  await assertAccepted(await listWith(t, `Bearer ${token}`));
});

Deno.test("GET /api/environments refuses an unsecured alg: none token", async () => {
  await using t = await testContext({ now: NOW });
  const payload = base64url.encode(JSON.stringify(claims()));
  for (const alg of ["none", "None", "NONE"]) {
    const header = base64url.encode(JSON.stringify({ alg, typ: "JWT" }));
    const token = `${header}.${payload}.`;
    await assertInvalidToken(await listWith(t, `Bearer ${token}`), token, /not accepted/);
  }
  // The same claims with the real HS256 signature are accepted, so only alg made the difference.
  await assertAccepted(await listWith(t, `Bearer ${await hs256(claims())}`));
});

Deno.test("GET /api/environments refuses HS384 and HS512 tokens made with the right secret", async () => {
  await using t = await testContext({ now: NOW });
  for (const alg of ["HS384", "HS512"]) {
    const token = await new SignJWT(claims())
      .setProtectedHeader({ alg })
      .sign(encoder.encode(TEST_SECRET));
    await assertInvalidToken(await listWith(t, `Bearer ${token}`), token, /not accepted/);
  }
});

/** A real JWKS endpoint on a random local port, serving `keys`. */
function serveJwks(keys: JWK[]) {
  let requests = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    requests++;
    if (new URL(req.url).pathname !== "/.well-known/jwks.json") {
      return new Response("not found", { status: 404 });
    }
    return Response.json({ keys });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}/.well-known/jwks.json`,
    requests: () => requests,
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

async function rsaKeyWithJwk(kid: string) {
  const { privateKey, publicKey } = await generateKeyPair("RS256", { extractable: true });
  const jwk: JWK = { ...await exportJWK(publicKey), kid, alg: "RS256", use: "sig" };
  return { privateKey, publicKey, jwk };
}

Deno.test("GET /api/environments accepts an RS256 token whose kid is in the JWKS", async () => {
  const rsa = await rsaKeyWithJwk("key-1");
  await using jwks = serveJwks([rsa.jwk]);
  await using t = await testContext({ now: NOW, env: jwksEnv(jwks.url) });
  const token = await new SignJWT(claims({ sub: "bob" }))
    .setProtectedHeader({ alg: "RS256", kid: "key-1" })
    .sign(rsa.privateKey);
  await assertAccepted(await listWith(t, `Bearer ${token}`));
  assert.ok(jwks.requests() >= 1);
  // The caller is bob: the environment he creates is his.
  const created = await t.app.request("/api/environments", {
    method: "POST",
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
    body: JSON.stringify({ name: "rsa", region: "us-east-1", dbInstanceIdentifier: "db-1" }),
  });
  assert.equal(created.status, 201);
  assert.equal((await created.json()).ownerId, "bob");
  // HS256 tokens under JWT_SECRET keep working next to the JWKS.
  await assertAccepted(await listWith(t, `Bearer ${await hs256(claims())}`));
});

Deno.test("GET /api/environments refuses tokens signed by keys the JWKS does not hold", async () => {
  const rsa = await rsaKeyWithJwk("key-1");
  await using jwks = serveJwks([rsa.jwk]);
  await using t = await testContext({ now: NOW, env: jwksEnv(jwks.url) });

  const ec = await generateKeyPair("ES256");
  const es256 = await new SignJWT(claims())
    .setProtectedHeader({ alg: "ES256", kid: "key-2" })
    .sign(ec.privateKey);
  await assertInvalidToken(await listWith(t, `Bearer ${es256}`), es256);

  const es256SameKid = await new SignJWT(claims())
    .setProtectedHeader({ alg: "ES256", kid: "key-1" })
    .sign(ec.privateKey);
  await assertInvalidToken(await listWith(t, `Bearer ${es256SameKid}`), es256SameKid);

  const otherRsa = await generateKeyPair("RS256");
  const impostor = await new SignJWT(claims())
    .setProtectedHeader({ alg: "RS256", kid: "key-1" })
    .sign(otherRsa.privateKey);
  await assertInvalidToken(await listWith(t, `Bearer ${impostor}`), impostor, /signature/);
});

/** HS256 tokens whose HMAC key is the JWKS public key, in each form an attacker could fetch. */
async function forgedWithPublicKey(rsa: Awaited<ReturnType<typeof rsaKeyWithJwk>>) {
  const pem = await exportSPKI(rsa.publicKey);
  const secrets = [JSON.stringify(rsa.jwk), JSON.stringify({ keys: [rsa.jwk] }), pem, rsa.jwk.n!];
  return await Promise.all(secrets.map((secret) =>
    new SignJWT(claims())
      .setProtectedHeader({ alg: "HS256", kid: "key-1" })
      .sign(encoder.encode(secret))
  ));
}

Deno.test("GET /api/environments refuses an HS256 token forged with the JWKS public key", async () => {
  const rsa = await rsaKeyWithJwk("key-1");
  await using jwks = serveJwks([rsa.jwk]);
  await using t = await testContext({ now: NOW, env: jwksEnv(jwks.url) });
  for (const token of await forgedWithPublicKey(rsa)) {
    await assertInvalidToken(await listWith(t, `Bearer ${token}`), token, /signature/);
  }
});

Deno.test("GET /api/environments refuses every HS256 token when only JWKS_URL is set", async () => {
  const rsa = await rsaKeyWithJwk("key-1");
  await using jwks = serveJwks([rsa.jwk]);
  await using t = await testContext({ now: NOW, env: { ...jwksEnv(jwks.url), JWT_SECRET: "" } });
  assert.equal(t.config.jwt.secret, undefined);
  const refused = [...await forgedWithPublicKey(rsa), await hs256(claims())];
  for (const token of refused) {
    await assertInvalidToken(await listWith(t, `Bearer ${token}`), token, /HS256/);
  }
  const rs256 = await new SignJWT(claims())
    .setProtectedHeader({ alg: "RS256", kid: "key-1" })
    .sign(rsa.privateKey);
  await assertAccepted(await listWith(t, `Bearer ${rs256}`));
});

Deno.test("GET /api/environments answers 503 with Retry-After, not 401, when the JWKS is down", async () => {
  const rsa = await rsaKeyWithJwk("key-1");
  // A port nothing listens on: the key set cannot be fetched.
  const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (closed.addr as Deno.NetAddr).port;
  closed.close();
  await using t = await testContext({
    now: NOW,
    env: jwksEnv(`http://127.0.0.1:${port}/.well-known/jwks.json`),
  });
  const token = await new SignJWT(claims({ sub: "bob" }))
    .setProtectedHeader({ alg: "RS256", kid: "key-1" })
    .sign(rsa.privateKey);
  const res = await listWith(t, `Bearer ${token}`);
  assert.equal(res.status, 503);
  assert.equal(res.headers.get("retry-after"), "5");
  assert.equal(res.headers.get("www-authenticate"), null);
  const body = await res.json();
  assert.match(body.detail, /JWKS_URL/);
  assert.ok(!JSON.stringify(body).includes(token));
});

/** An HS256 token over `payloadJson` exactly as written (JSON.stringify cannot write 1e999). */
async function hs256Raw(payloadJson: string): Promise<string> {
  const signingInput = `${base64url.encode(JSON.stringify({ alg: "HS256", typ: "JWT" }))}.${
    base64url.encode(payloadJson)
  }`;
  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(TEST_SECRET),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const mac = await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(signingInput));
  return `${signingInput}.${base64url.encode(new Uint8Array(mac))}`;
}

Deno.test("GET /api/environments says malformed for an infinite exp, nbf or iat (1e999)", async () => {
  await using t = await testContext({ now: NOW });
  const control = await hs256Raw(
    `{"sub":"alice","iat":${NOW_SECONDS},"exp":${NOW_SECONDS + 3600}}`,
  );
  assert.equal((await listWith(t, `Bearer ${control}`)).status, 200, "the raw signer works");
  for (const claim of ["exp", "nbf", "iat"]) {
    const times: Record<string, string> = {
      iat: String(NOW_SECONDS),
      exp: String(NOW_SECONDS + 3600),
      [claim]: "1e999",
    };
    const token = await hs256Raw(
      `{"sub":"alice","iat":${times.iat},"exp":${times.exp}${
        claim === "nbf" ? ',"nbf":1e999' : ""
      }}`,
    );
    await assertInvalidToken(
      await listWith(t, `Bearer ${token}`),
      token,
      new RegExp(`${claim} claim is malformed`),
    );
  }
});
