// The verified-token cache (auth/jwt.ts) must never make a token pass that a fresh verification
// would refuse: time claims are checked on every hit, refusals are never remembered, and a
// token only ever answers with its own subject.
import assert from "node:assert/strict";
import { createLocalJWKSet, type JWTPayload, SignJWT } from "jose";
import { createTokenVerifier, InvalidTokenError, TOKEN_CACHE_TTL_MS } from "../auth/jwt.ts";
import { manualClock } from "../lifecycle/clock.ts";
import { TEST_SECRET } from "./helpers/context.ts";

const NOW = "2026-01-01T00:00:00Z";
const NOW_SECONDS = Date.parse(NOW) / 1000;

function hs256(claims: JWTPayload) {
  return new SignJWT({ sub: "alice", iat: NOW_SECONDS, exp: NOW_SECONDS + 3600, ...claims })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .sign(new TextEncoder().encode(TEST_SECRET));
}

function verifierAt(now: string) {
  const clock = manualClock(now);
  return { clock, verify: createTokenVerifier({ secret: TEST_SECRET }, { clock }) };
}

async function refusal(work: Promise<unknown>): Promise<string> {
  const error = await work.then(() => undefined, (e) => e);
  assert.ok(error instanceof InvalidTokenError, `expected a refusal, got ${error}`);
  return error.reason;
}

Deno.test("token cache: a token accepted earlier is refused once its exp passes, before the entry lapses", async () => {
  const { clock, verify } = verifierAt(NOW);
  const token = await hs256({ exp: NOW_SECONDS + 30 });
  assert.deepEqual(await verify(token), { userId: "alice" });
  assert.deepEqual(await verify(token), { userId: "alice" });
  // 91 s later: exp + the 60 s tolerance has passed, but the entry's lifetime has not.
  clock.advance(91_000);
  assert.ok(91_000 < TOKEN_CACHE_TTL_MS);
  assert.equal(await refusal(verify(token)), "expired");
  assert.equal(await refusal(verify(token)), "expired");
});

Deno.test("token cache: nbf is checked on every hit, so a clock set back refuses a cached token", async () => {
  const { clock, verify } = verifierAt(NOW);
  const token = await hs256({ nbf: NOW_SECONDS });
  assert.deepEqual(await verify(token), { userId: "alice" });
  clock.advance(-61_000);
  assert.equal(await refusal(verify(token)), "notYetValid");
  clock.set(NOW);
  assert.deepEqual(await verify(token), { userId: "alice" });
});

Deno.test("token cache: a refusal is never remembered; a token not valid yet passes once its nbf comes", async () => {
  const { clock, verify } = verifierAt(NOW);
  const token = await hs256({ nbf: NOW_SECONDS + 120 });
  assert.equal(await refusal(verify(token)), "notYetValid");
  assert.equal(await refusal(verify(token)), "notYetValid");
  clock.advance(61_000);
  assert.deepEqual(await verify(token), { userId: "alice" });
});

Deno.test("token cache: each token answers with its own subject, and a tampered copy of a cached token is refused", async () => {
  const { verify } = verifierAt(NOW);
  const alice = await hs256({ sub: "alice" });
  const bob = await hs256({ sub: "bob" });
  for (let i = 0; i < 3; i++) {
    assert.deepEqual(await verify(alice), { userId: "alice" });
    assert.deepEqual(await verify(bob), { userId: "bob" });
  }
  // Bob's header and payload under Alice's signature, and Alice's token with a changed signature.
  const [bobHeader, bobPayload] = bob.split(".");
  const aliceSignature = alice.split(".")[2];
  assert.equal(await refusal(verify(`${bobHeader}.${bobPayload}.${aliceSignature}`)), "signature");
  const flipped = alice.slice(0, -2) + (alice.at(-2) === "A" ? "B" : "A") + alice.at(-1);
  assert.equal(await refusal(verify(flipped)), "signature");
  assert.deepEqual(await verify(alice), { userId: "alice" });
});

Deno.test("token cache: a verifier's answers are its own; another secret's verifier refuses a token cached elsewhere", async () => {
  const { verify } = verifierAt(NOW);
  const token = await hs256({});
  assert.deepEqual(await verify(token), { userId: "alice" });
  const other = createTokenVerifier(
    { secret: "another-secret-that-is-at-least-32-bytes" },
    { clock: manualClock(NOW) },
  );
  assert.equal(await refusal(other(token)), "signature");
});

Deno.test("token cache: past its lifetime an entry is verified afresh and still accepted while valid", async () => {
  const { clock, verify } = verifierAt(NOW);
  const token = await hs256({});
  assert.deepEqual(await verify(token), { userId: "alice" });
  clock.advance(TOKEN_CACHE_TTL_MS + 1);
  assert.deepEqual(await verify(token), { userId: "alice" });
});

Deno.test("token cache: with a JWKS also configured, a cached HS256 token is refused once it passes JWT_MAX_AGE", async () => {
  const clock = manualClock(NOW);
  // A JWKS configured alongside the secret brings JWT_MAX_AGE to HS256 tokens (here 90 s).
  const verify = createTokenVerifier(
    { secret: TEST_SECRET, jwksUrl: "https://id.example.com/jwks.json", maxAgeSeconds: 90 },
    { clock, jwks: createLocalJWKSet({ keys: [] }) },
  );
  const token = await hs256({ iat: NOW_SECONDS - 80 });
  assert.deepEqual(await verify(token), { userId: "alice" });
  assert.deepEqual(await verify(token), { userId: "alice" });
  // 100 s on: 180 s old, past 90 s plus the 60 s tolerance, while the entry's lifetime has not run.
  clock.advance(100_000);
  assert.ok(100_000 < TOKEN_CACHE_TTL_MS);
  assert.equal(await refusal(verify(token)), "tooOld");
  assert.equal(await refusal(hs256({ iat: undefined }).then(verify)), "noIat");
  // The same token and clock with the secret alone: no age bound, as before.
  const alone = createTokenVerifier({ secret: TEST_SECRET, maxAgeSeconds: 90 }, { clock });
  assert.deepEqual(await alone(token), { userId: "alice" });
});
