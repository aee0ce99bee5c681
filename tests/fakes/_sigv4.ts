/** Server-side SigV4 verification with @smithy/signature-v4, independent of aws4fetch. */
import { Sha256, SignatureV4 } from "../../dev_deps/sigv4.ts";

/** A key pair the fake accepts; with `sessionToken` it stands for temporary credentials. */
export interface FakeCredential {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** An AWS-style refusal: HTTP status, error shape, Query code and message. */
export interface AuthFailure {
  ok: false;
  status: number;
  type: string;
  code: string;
  message: string;
  accessKeyId?: string;
  region?: string;
  signedHeaders: string[];
}

/** A request whose signature checked out. */
export interface AuthSuccess {
  ok: true;
  accessKeyId: string;
  region: string;
  signedHeaders: string[];
}

const AUTH_PATTERN =
  /^AWS4-HMAC-SHA256 Credential=([^/\s]+)\/(\d{8})\/([^/\s]+)\/([^/\s]+)\/aws4_request,\s*SignedHeaders=([a-z0-9;-]+),\s*Signature=([0-9a-f]{64})$/;
const MAX_SKEW_MS = 15 * 60_000;

/** Checks a request's Authorization header against the known credentials, as section 6.1 says. */
export async function verifySigV4(
  req: Request,
  rawBody: Uint8Array,
  known: FakeCredential[],
  now: Date,
  /** The service the credential scope must name. */
  expectedService = "monitoring",
): Promise<AuthSuccess | AuthFailure> {
  const authorization = req.headers.get("authorization");
  if (!authorization) {
    return fail(403, "MissingAuthenticationTokenException", "MissingAuthenticationToken", {
      message: "Request is missing Authentication Token",
    });
  }
  const m = AUTH_PATTERN.exec(authorization);
  if (!m) {
    return fail(403, "IncompleteSignatureException", "IncompleteSignature", {
      message: "Authorization header requires Credential, SignedHeaders and Signature",
    });
  }
  const [, accessKeyId, scopeDate, region, service, signedList, signature] = m;
  const signedHeaders = signedList.split(";");
  const who = { accessKeyId, region, signedHeaders };
  const credential = known.find((c) => c.accessKeyId === accessKeyId);
  if (!credential) {
    return fail(403, "UnrecognizedClientException", "InvalidClientTokenId", {
      ...who,
      message: "The security token included in the request is invalid.",
    });
  }
  const amzDate = req.headers.get("x-amz-date") ?? "";
  const signingDate = parseAmzDate(amzDate);
  if (
    service !== expectedService || !signingDate || scopeDate !== amzDate.slice(0, 8) ||
    !signedHeaders.includes("host") || !signedHeaders.includes("x-amz-date")
  ) {
    return fail(403, "InvalidSignatureException", "SignatureDoesNotMatch", {
      ...who,
      message: `Credential should be scoped to ${expectedService}, the date of x-amz-date, and ` +
        "sign host and x-amz-date.",
    });
  }
  if (Math.abs(now.getTime() - signingDate.getTime()) > MAX_SKEW_MS) {
    return fail(403, "InvalidSignatureException", "SignatureDoesNotMatch", {
      ...who,
      message: `Signature expired: ${amzDate} is now earlier than ${
        amzDateOf(new Date(now.getTime() - MAX_SKEW_MS))
      } (${amzDateOf(now)} - 15 min.)`,
    });
  }
  const tokenSigned = signedHeaders.includes("x-amz-security-token");
  const token = tokenSigned ? req.headers.get("x-amz-security-token") : null;
  if ((credential.sessionToken ?? null) !== token) {
    return credential.sessionToken && token
      ? fail(403, "ExpiredTokenException", "ExpiredToken", {
        ...who,
        message: "The security token included in the request is expired",
      })
      : fail(403, "UnrecognizedClientException", "InvalidClientTokenId", {
        ...who,
        message: "The security token included in the request is invalid.",
      });
  }

  const headers: Record<string, string> = {};
  for (const name of signedHeaders) {
    const value = req.headers.get(name);
    if (value === null) return mismatch(who);
    headers[name] = value;
  }
  // A signed payload hash must be the body's, or the signature would not cover the body.
  const declaredHash = headers["x-amz-content-sha256"];
  if (declaredHash !== undefined && declaredHash !== await sha256Hex(rawBody)) return mismatch(who);

  const url = new URL(req.url);
  const query: Record<string, string | string[]> = {};
  for (const [k, v] of url.searchParams) {
    const prior = query[k];
    query[k] = prior === undefined ? v : [...(Array.isArray(prior) ? prior : [prior]), v];
  }
  const signer = new SignatureV4({
    service,
    region,
    credentials: {
      accessKeyId,
      secretAccessKey: credential.secretAccessKey,
      ...(tokenSigned && token ? { sessionToken: token } : {}),
    },
    sha256: Sha256,
    applyChecksum: false,
  });
  const signed = await signer.sign({
    method: req.method,
    protocol: url.protocol,
    hostname: url.hostname,
    port: url.port ? Number(url.port) : undefined,
    path: url.pathname,
    query,
    headers,
    body: rawBody,
  }, { signingDate, signableHeaders: new Set(signedHeaders) });
  const expected = /Signature=([0-9a-f]{64})/.exec(String(signed.headers.authorization))?.[1] ??
    "";
  const expectedList = /SignedHeaders=([^,]+)/.exec(String(signed.headers.authorization))?.[1];
  if (expectedList !== signedList || !constantTimeEqual(expected, signature)) return mismatch(who);
  return { ok: true, accessKeyId, region, signedHeaders };
}

function mismatch(who: { accessKeyId: string; region: string; signedHeaders: string[] }) {
  return fail(403, "InvalidSignatureException", "SignatureDoesNotMatch", {
    ...who,
    message: "The request signature we calculated does not match the signature you provided. " +
      "Check your AWS Secret Access Key and signing method.",
  });
}

function fail(
  status: number,
  type: string,
  code: string,
  rest: { message: string; accessKeyId?: string; region?: string; signedHeaders?: string[] },
): AuthFailure {
  return { ok: false, status, type, code, signedHeaders: [], ...rest };
}

function parseAmzDate(value: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (!m) return undefined;
  const date = new Date(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z`);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

function amzDateOf(date: Date): string {
  return date.toISOString().replace(/[-:]|\.\d{3}/g, "");
}

async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Compares two strings without an early exit, so timing does not reveal the matching prefix. */
function constantTimeEqual(a: string, b: string): boolean {
  let diff = a.length ^ b.length;
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    diff |= (a.charCodeAt(i) || 0) ^ (b.charCodeAt(i) || 0);
  }
  return diff === 0;
}
