import { SignJWT } from "jose";

/** Signs an HS256 token for `sub`; used by dev mode, `deno task token` and tests. */
export function mintToken(
  secret: string,
  claims: { sub: string; ttlSeconds?: number; issuer?: string; audience?: string; now?: Date },
): Promise<string> {
  const iat = Math.floor((claims.now ?? new Date()).getTime() / 1000);
  const jwt = new SignJWT({})
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(claims.sub)
    .setIssuedAt(iat)
    .setExpirationTime(iat + (claims.ttlSeconds ?? 3600));
  if (claims.issuer) jwt.setIssuer(claims.issuer);
  if (claims.audience) jwt.setAudience(claims.audience);
  return jwt.sign(new TextEncoder().encode(secret));
}

/** Parses a TTL like 90s, 15m, 12h or 7d into seconds. */
export function parseTtl(text: string): number {
  const match = /^(\d+)([smhd])?$/.exec(text.trim());
  if (!match) throw new Error(`TTL "${text}" must look like 90s, 15m, 12h or 7d`);
  const unit = { s: 1, m: 60, h: 3600, d: 86400 }[(match[2] ?? "s") as "s" | "m" | "h" | "d"];
  return Number(match[1]) * unit;
}
