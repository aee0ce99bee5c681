import type { Config } from "../config.ts";
import { hex, sha256 } from "../hex.ts";

/**
 * AWS secrets at rest: AES-256-GCM under CREDENTIALS_KEY, a fresh 96-bit IV per value. The
 * envelope `v2.<keyId>.<iv>.<ciphertext>` names the key that sealed it (keyId: the first 8 bytes of
 * SHA-256 of the key, hex), so a rotation decrypts each value with exactly the key it needs.
 * `v1.<iv>.<ciphertext>` (before key ids) is still read, trying the current key, then older ones.
 * `v3.<keyId>.<iv>.<ciphertext>` also binds the environment id as associated data, so a ciphertext
 * copied to another environment's row does not open there; v1 and v2 (unbound) still decrypt,
 * count as stale and are re-sealed as v3 by lifecycle/reencrypt_credentials.ts.
 */
export interface StoredSecret {
  secretAccessKey: string;
  sessionToken?: string;
}

/** Encrypts (always under the current key) and decrypts (under any key it holds) AWS secrets. */
export interface CredentialsCipher {
  /** Seals for environment `envId` (v3); without it, the unbound v2 of older versions. */
  encrypt(secret: StoredSecret, envId?: number): Promise<string>;
  /**
   * Throws when no key it holds opens the envelope, the envelope is not one of ours, or (v3) it
   * was sealed for another environment than `envId`.
   */
  decrypt(envelope: string, envId?: number): Promise<StoredSecret>;
  /**
   * True when `envelope` is not bound (v3) or was sealed by neither the current key nor a next
   * key: re-encrypt it.
   */
  isStale(envelope: string): boolean;
  /** The current key's id (16 hex digits); not secret. */
  readonly keyId: string;
}

// Binds ciphertexts to their purpose so they cannot be swapped with other encrypted data.
const ADDITIONAL_DATA = new TextEncoder().encode("capwatch:environment-credentials:v1");

/** v3's associated data: the purpose and the environment the secret belongs to. */
const boundData = (envId: number) =>
  new TextEncoder().encode(`capwatch:environment-credentials:v3:env:${envId}`);

interface Key {
  id: string;
  key: CryptoKey;
}

/** The cipher for the configured CREDENTIALS_KEY and its previous and next keys; undefined without one. */
export function credentialsCipherFor(
  config: Pick<Config, "credentialsKey" | "previousCredentialsKeys" | "nextCredentialsKeys">,
): Promise<CredentialsCipher | undefined> {
  return config.credentialsKey
    ? createCredentialsCipher(
      config.credentialsKey,
      config.previousCredentialsKeys,
      config.nextCredentialsKeys,
    )
    : Promise.resolve(undefined);
}

/**
 * Builds a cipher from the 32 raw bytes of the current key and of keys that only decrypt:
 * previous keys (CREDENTIALS_KEY_PREVIOUS; what they sealed is stale) and next keys
 * (CREDENTIALS_KEY_NEXT, phase 1 of a rolling rotation; what they sealed is left as it is, so an
 * instance not yet promoted never moves rows back from the key a promoted instance writes).
 */
export async function createCredentialsCipher(
  keyBytes: Uint8Array,
  previousKeys: Uint8Array[] = [],
  nextKeys: Uint8Array[] = [],
): Promise<CredentialsCipher> {
  const current = await importKey(keyBytes);
  const keys = [current];
  for (const bytes of [...previousKeys, ...nextKeys]) {
    const key = await importKey(bytes);
    if (!keys.some((k) => k.id === key.id)) keys.push(key);
  }
  const next = new Set<string>();
  for (const bytes of nextKeys) next.add((await importKey(bytes)).id);
  next.delete(current.id);
  return {
    keyId: current.id,
    async encrypt(secret, envId) {
      const iv = crypto.getRandomValues(new Uint8Array(12));
      const plaintext = new TextEncoder().encode(JSON.stringify(secret));
      const ciphertext = await crypto.subtle.encrypt(
        {
          name: "AES-GCM",
          iv,
          additionalData: envId === undefined ? ADDITIONAL_DATA : boundData(envId),
        },
        current.key,
        plaintext,
      );
      const version = envId === undefined ? "v2" : "v3";
      return [version, current.id, toBase64(iv), toBase64(new Uint8Array(ciphertext))].join(".");
    },
    async decrypt(envelope, envId) {
      const parsed = parseEnvelope(envelope);
      if (!parsed) throw new Error("Unknown credentials format");
      if (parsed.bound && envId === undefined) {
        throw new Error("These credentials are bound to an environment; name it");
      }
      const additionalData = parsed.bound ? boundData(envId!) : ADDITIONAL_DATA;
      const candidates = parsed.keyId === undefined
        ? keys
        : keys.filter((k) => k.id === parsed.keyId);
      if (candidates.length === 0) {
        throw new Error(`Sealed by key ${parsed.keyId}, which this server does not hold`);
      }
      let failure: unknown;
      for (const { key } of candidates) {
        try {
          const plaintext = await crypto.subtle.decrypt(
            { name: "AES-GCM", iv: parsed.iv, additionalData },
            key,
            parsed.ciphertext,
          );
          return JSON.parse(new TextDecoder().decode(plaintext));
        } catch (error) {
          failure = error;
        }
      }
      throw failure;
    },
    isStale(envelope) {
      const parsed = parseEnvelope(envelope);
      if (!parsed?.bound) return true;
      return parsed.keyId !== current.id && !next.has(parsed.keyId!);
    },
  };
}

/** The id of a 32-byte key as stored in envelopes: 16 hex digits of its SHA-256. */
export async function credentialsKeyId(keyBytes: Uint8Array): Promise<string> {
  return (await importKey(keyBytes)).id;
}

async function importKey(bytes: Uint8Array): Promise<Key> {
  const raw = bytes as Uint8Array<ArrayBuffer>;
  const id = hex((await sha256(raw)).slice(0, 8));
  const key = await crypto.subtle.importKey("raw", raw, "AES-GCM", false, ["encrypt", "decrypt"]);
  return { id, key };
}

function parseEnvelope(envelope: string) {
  const parts = envelope.split(".");
  try {
    if (parts.length === 3 && parts[0] === "v1" && parts[1] && parts[2]) {
      return {
        keyId: undefined,
        bound: false,
        iv: fromBase64(parts[1]),
        ciphertext: fromBase64(parts[2]),
      };
    }
    if (
      parts.length === 4 && (parts[0] === "v2" || parts[0] === "v3") &&
      /^[0-9a-f]{16}$/.test(parts[1]) && parts[2]
    ) {
      return {
        keyId: parts[1],
        bound: parts[0] === "v3",
        iv: fromBase64(parts[2]),
        ciphertext: fromBase64(parts[3]),
      };
    }
  } catch {
    // Not base64: not ours.
  }
  return undefined;
}

/** Shows enough of an access key id to recognise it: AKIA…WXYZ. */
export function maskAccessKeyId(accessKeyId: string): string {
  if (accessKeyId.length <= 8) return "…" + accessKeyId.slice(-2);
  return `${accessKeyId.slice(0, 4)}…${accessKeyId.slice(-4)}`;
}

function toBase64(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes));
}

function fromBase64(text: string): Uint8Array<ArrayBuffer> {
  return Uint8Array.from(atob(text), (ch) => ch.charCodeAt(0));
}
