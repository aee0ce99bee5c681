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

/** Why a token was refused; the message is safe to show the caller (it never echoes the token). */
export class InvalidTokenError extends Error {}

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
  const jwks = options.jwks ?? (jwt.jwksUrl ? createRemoteJWKSet(new URL(jwt.jwksUrl)) : undefined);
  if (!secret && !jwks) throw new Error("A token verifier needs JWT_SECRET or JWKS_URL");

  return async (token) => {
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
        }));
      } else if (jwks && ASYMMETRIC_ALGORITHMS.includes(alg)) {
        ({ payload } = await jwtVerify(token, jwks, {
          ...common,
          algorithms: ASYMMETRIC_ALGORITHMS,
        }));
      } else {
        throw new InvalidTokenError(`Tokens signed with ${alg} are not accepted`);
      }
    } catch (error) {
      if (isKeySetOutage(error)) {
        throw new KeySetUnavailableError("The signing keys at JWKS_URL could not be fetched");
      }
      throw new InvalidTokenError(describe(error));
    }
    if (typeof payload.sub !== "string" || payload.sub.length === 0) {
      throw new InvalidTokenError("The token has no subject (sub)");
    }
    // The same rule as member ids in paths and the token script, so every door admits one set.
    if (userIdProblem(payload.sub) !== undefined) {
      throw new InvalidTokenError(
        `The token's subject (sub) must be 1 to ${USER_ID_MAX} characters without control characters`,
      );
    }
    return { userId: payload.sub };
  };
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

function algorithmOf(token: string): string {
  try {
    const { alg } = decodeProtectedHeader(token);
    if (typeof alg !== "string") throw new Error();
    return alg;
  } catch {
    throw new InvalidTokenError("The token is not a well-formed JWT");
  }
}

function describe(error: unknown): string {
  if (error instanceof InvalidTokenError) return error.message;
  if (error instanceof joseErrors.JWTExpired) {
    return "The token has expired; mint a new one (deno task token --sub <user>)";
  }
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    if (error.claim === "nbf") return "The token is not valid yet";
    return `The token's ${error.claim} claim is not accepted`;
  }
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) {
    return "The token's signature does not verify";
  }
  if (error instanceof joseErrors.JWKSNoMatchingKey) return "No key matches the token's kid";
  if (error instanceof joseErrors.JOSEAlgNotAllowed) return "The token's algorithm is not accepted";
  if (error instanceof joseErrors.JWTInvalid || error instanceof joseErrors.JWSInvalid) {
    return "The token is not a well-formed JWT";
  }
  return "The token could not be verified";
}
