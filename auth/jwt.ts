import {
  createRemoteJWKSet,
  decodeProtectedHeader,
  errors as joseErrors,
  type JWTPayload,
  jwtVerify,
  type JWTVerifyGetKey,
} from "jose";
import type { Config } from "../config.ts";
import { USER_ID_MAX, userIdProblem } from "../inputs.ts";

/** Resolves a bearer token to the caller's user id, or throws InvalidTokenError. */
export type TokenVerifier = (token: string) => Promise<{ userId: string }>;

/**
 * Every reason capwatch gives for refusing a token, in fixed words. Nothing from the token (its
 * alg, kid, typ or claims) or from jose's messages is ever put into them, so they are safe in a
 * response body and in the WWW-Authenticate header alike.
 */
export const TOKEN_REFUSALS = {
  malformed: "The token is not a well-formed JWT",
  algorithm: "The token's algorithm (alg) is not accepted",
  signature: "The token's signature does not verify",
  unknownKey: "No key matches the token's kid",
  expired: "The token has expired; get a new one from whoever issued it",
  notYetValid: "The token is not valid yet (nbf is in the future)",
  badNbf: "The token's nbf claim is malformed; it must be a number (seconds since 1970)",
  badExp: "The token's exp claim is malformed; it must be a number (seconds since 1970)",
  badIat: "The token's iat claim is malformed; it must be a number (seconds since 1970)",
  noExp: "The token has no exp claim",
  noSub: "The token has no subject (sub)",
  badSub:
    `The token's subject (sub) must be 1 to ${USER_ID_MAX} characters without control characters`,
  issuer: "The token's iss claim is not accepted",
  audience: "The token's aud claim is not accepted",
  claim: "One of the token's claims is not accepted",
  typ: "The token's type (typ header) is not accepted",
  tooOld: "The token is older than this server accepts (iat plus JWT_MAX_AGE); get a new one",
  futureIat: "The token's iat claim is in the future",
  noIat: "The token has no iat claim (issued-at), which this server requires",
  noKid: "The token names no key (kid header)",
  unverifiable: "The token could not be verified",
} as const;

/** One key of TOKEN_REFUSALS. */
export type TokenRefusal = keyof typeof TOKEN_REFUSALS;

/**
 * Why a token was refused. Its message is TOKEN_REFUSALS[reason] or, for an algorithm from the
 * JOSE registry, a text naming it: never text from the token that capwatch did not list itself.
 */
export class InvalidTokenError extends Error {
  constructor(readonly reason: TokenRefusal, message: string = TOKEN_REFUSALS[reason]) {
    super(message);
  }
}

// The JWS algorithms a refusal may name (RFC 7518 §3.1, RFC 8037); any other alg goes unnamed.
const NAMEABLE_ALGORITHMS = ["HS256", "HS384", "HS512", "none", "None", "NONE", "ES512"];

/** The remote key set could not be fetched: our outage, not the caller's bad token. */
export class KeySetUnavailableError extends Error {}

const ASYMMETRIC_ALGORITHMS = [
  "RS256",
  "RS384",
  "RS512",
  "PS256",
  "PS384",
  "PS512",
  "ES256",
  "ES384",
  "EdDSA",
  "Ed25519",
];
const CLOCK_TOLERANCE_SECONDS = 60;

/** How long a verified HS256 token is remembered before it is verified again, in ms. */
export const TOKEN_CACHE_TTL_MS = 2 * 60_000;
/** How many verified tokens are remembered at most; past it the oldest is forgotten. */
const TOKEN_CACHE_MAX = 10_000;

/** A token that verified: who it names, its time claims (s since 1970) and when it is forgotten. */
interface VerifiedToken {
  userId: string;
  exp: number;
  nbf: number | undefined;
  iat: number | undefined;
  forgetAt: number;
}

/**
 * After an unknown kid refetches the key set, how long (ms) another unknown kid waits for the next
 * refetch: short, so a key published and used at once works, yet a flood of made-up kids cannot
 * make capwatch hammer the identity provider. Concurrent unknown kids share one fetch (jose).
 */
export const JWKS_REFETCH_COOLDOWN_MS = 1000;

/** Builds the verifier for the configured HS256 secret and/or remote JWKS. */
export function createTokenVerifier(
  jwt: Config["jwt"],
  options: { jwks?: JWTVerifyGetKey; clock?: () => Date } = {},
): TokenVerifier {
  // Imported once: handing jose the raw bytes would import the HMAC key on every request.
  const secret = jwt.secret
    ? crypto.subtle.importKey(
      "raw",
      new TextEncoder().encode(jwt.secret),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["verify"],
    )
    : undefined;
  const jwks = options.jwks ??
    (jwt.jwksUrl
      ? createRemoteJWKSet(new URL(jwt.jwksUrl), { cooldownDuration: JWKS_REFETCH_COOLDOWN_MS })
      : undefined);
  if (!secret && !jwks) throw new Error("A token verifier needs JWT_SECRET or JWKS_URL");

  // Verified HS256 tokens by their whole text: a hit skips the HMAC (an off-thread WebCrypto call
  // and a hop back, which left the event loop idle under load) but not the time checks, which run
  // on every hit exactly as jose runs them. Failures are never remembered. Only HS256: its secret
  // is fixed for the process, while a JWKS key may be withdrawn at any time.
  const verified = new Map<string, VerifiedToken>();
  // With a JWKS also configured, the server faces a shared identity provider, and a leaked HS256
  // token must not outlive the age bound the provider's tokens have: iat becomes required and
  // JWT_MAX_AGE applies. HS256 alone (JWT_SECRET, dev mode, tests) keeps its rules unchanged.
  const hsMaxAge = jwks ? jwt.maxAgeSeconds : undefined;

  return async (token) => {
    const at = options.clock?.() ?? new Date();
    const hit = verified.get(token);
    if (hit) {
      if (stillValid(hit, at, hsMaxAge)) return { userId: hit.userId };
      // Verified again in full below, so the refusal is the one an unseen token would get.
      verified.delete(token);
    }
    const alg = algorithmOf(token);
    const common = {
      issuer: jwt.issuer,
      audience: jwt.audience,
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
      requiredClaims: ["exp", "sub"],
      currentDate: options.clock?.(),
    };
    let payload: JWTPayload;
    try {
      if (alg === "HS256" && secret) {
        ({ payload } = await jwtVerify(token, await secret, {
          ...common,
          algorithms: ["HS256"],
          maxTokenAge: hsMaxAge,
        }));
      } else if (jwks && ASYMMETRIC_ALGORITHMS.includes(alg)) {
        // A shared identity provider's tokens: bound to us (config requires iss and aud), to
        // one key, to a type when JWT_TYP says so, and to a bounded age (iat is required).
        if (!hasKid(token)) throw new InvalidTokenError("noKid");
        ({ payload } = await jwtVerify(token, jwks, {
          ...common,
          algorithms: ASYMMETRIC_ALGORITHMS,
          typ: jwt.typ,
          maxTokenAge: jwt.maxAgeSeconds,
        }));
      } else {
        const named = [...NAMEABLE_ALGORITHMS, ...ASYMMETRIC_ALGORITHMS].includes(alg);
        throw new InvalidTokenError(
          "algorithm",
          named ? `Tokens signed with ${alg} are not accepted` : TOKEN_REFUSALS.algorithm,
        );
      }
    } catch (error) {
      if (isKeySetOutage(error)) {
        throw new KeySetUnavailableError("The signing keys at JWKS_URL could not be fetched");
      }
      if (error instanceof InvalidTokenError) throw error;
      throw new InvalidTokenError(refusalOf(error));
    }
    // JSON's 1e999 parses as Infinity, a number jose accepts: an exp that never comes.
    const infinite = TIME_CLAIMS.find((claim) =>
      payload[claim] !== undefined && !Number.isFinite(payload[claim])
    );
    if (infinite) throw new InvalidTokenError(TIME_CLAIM_REFUSALS[infinite]);
    if (typeof payload.sub !== "string" || payload.sub.length === 0) {
      throw new InvalidTokenError("noSub");
    }
    // The same rule as member ids in paths and the token script, so every door admits one set.
    if (userIdProblem(payload.sub) !== undefined) {
      throw new InvalidTokenError("badSub");
    }
    if (alg === "HS256") {
      if (verified.size >= TOKEN_CACHE_MAX) verified.delete(verified.keys().next().value!);
      verified.set(token, {
        userId: payload.sub,
        exp: payload.exp!,
        nbf: payload.nbf,
        iat: payload.iat,
        forgetAt: at.getTime() + TOKEN_CACHE_TTL_MS,
      });
    }
    return { userId: payload.sub };
  };
}

/**
 * jose's own exp, nbf and (with `maxAgeSeconds`) iat-age checks, same tolerance and rounding, at
 * `at`, and the entry's age in the cache.
 */
function stillValid(entry: VerifiedToken, at: Date, maxAgeSeconds: number | undefined): boolean {
  const ms = at.getTime();
  if (ms >= entry.forgetAt) return false;
  const now = Math.floor(ms / 1000);
  if (entry.nbf !== undefined && entry.nbf > now + CLOCK_TOLERANCE_SECONDS) return false;
  if (maxAgeSeconds !== undefined) {
    // Verified with maxTokenAge, so iat is there; a token that aged past it is verified again.
    const age = now - (entry.iat ?? -Infinity);
    if (age - CLOCK_TOLERANCE_SECONDS > maxAgeSeconds) return false;
  }
  return entry.exp > now - CLOCK_TOLERANCE_SECONDS;
}

function isKeySetOutage(error: unknown): boolean {
  if (error instanceof InvalidTokenError) return false;
  if (error instanceof joseErrors.JWKSTimeout || error instanceof joseErrors.JWKSInvalid) {
    return true;
  }
  // A failed fetch surfaces as a TypeError; a non-200 answer as jose's generic error.
  if (!(error instanceof joseErrors.JOSEError)) return true;
  return error.code === "ERR_JOSE_GENERIC";
}

function hasKid(token: string): boolean {
  const { kid } = decodeProtectedHeader(token);
  return typeof kid === "string" && kid.length > 0;
}

function algorithmOf(token: string): string {
  try {
    const { alg } = decodeProtectedHeader(token);
    if (typeof alg !== "string") throw new Error();
    return alg;
  } catch {
    throw new InvalidTokenError("malformed");
  }
}

/** Maps jose's error classes and their claim/reason fields (never their messages) to a refusal. */
const TIME_CLAIMS = ["exp", "nbf", "iat"] as const;
const TIME_CLAIM_REFUSALS = { exp: "badExp", nbf: "badNbf", iat: "badIat" } as const;

function refusalOf(error: unknown): TokenRefusal {
  if (error instanceof joseErrors.JWTExpired) return error.claim === "iat" ? "tooOld" : "expired";
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    // jose's reason is "invalid" for a claim of the wrong type, "missing" when absent and
    // "check_failed" when present but refused; a malformed claim must not read as a timing one.
    const { claim, reason } = error;
    if (reason === "invalid") {
      if (claim === "nbf") return "badNbf";
      if (claim === "exp") return "badExp";
      if (claim === "iat") return "badIat";
    }
    if (reason === "missing" && claim === "exp") return "noExp";
    if (reason === "missing" && claim === "sub") return "noSub";
    if (reason === "missing" && claim === "iat") return "noIat";
    if (claim === "iat") return "futureIat";
    if (claim === "typ") return "typ";
    // An infinite nbf is never reached: malformed, not "not valid yet".
    if (claim === "nbf" && !Number.isFinite(error.payload.nbf)) return "badNbf";
    if (claim === "nbf") return "notYetValid";
    if (claim === "iss") return "issuer";
    if (claim === "aud") return "audience";
    return "claim";
  }
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return "signature";
  if (error instanceof joseErrors.JWKSNoMatchingKey) return "unknownKey";
  if (error instanceof joseErrors.JOSEAlgNotAllowed) return "algorithm";
  if (error instanceof joseErrors.JWTInvalid || error instanceof joseErrors.JWSInvalid) {
    return "malformed";
  }
  return "unverifiable";
}
