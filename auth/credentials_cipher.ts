/** AWS secrets at rest: AES-256-GCM under CREDENTIALS_KEY, a fresh 96-bit IV per value. */
export interface StoredSecret {
  secretAccessKey: string;
  sessionToken?: string;
}

/** Encrypts and decrypts per-environment AWS secrets. */
export interface CredentialsCipher {
  encrypt(secret: StoredSecret): Promise<string>;
  decrypt(envelope: string): Promise<StoredSecret>;
}

const VERSION = "v1";
// Binds ciphertexts to their purpose so they cannot be swapped with other encrypted data.
const ADDITIONAL_DATA = new TextEncoder().encode("capwatch:environment-credentials:v1");

/** Builds a cipher from the 32 raw key bytes. */
export async function createCredentialsCipher(keyBytes: Uint8Array): Promise<CredentialsCipher> {
  const key = await crypto.subtle.importKey(
    "raw",
    keyBytes as Uint8Array<ArrayBuffer>,
    "AES-GCM",
    false,
    ["encrypt", "decrypt"],
  );
  return {
    async encrypt(secret) {
      const iv = crypto.getRandomValues(new Uint8Array(12));
      const plaintext = new TextEncoder().encode(JSON.stringify(secret));
      const ciphertext = await crypto.subtle.encrypt(
        { name: "AES-GCM", iv, additionalData: ADDITIONAL_DATA },
        key,
        plaintext,
      );
      return [VERSION, toBase64(iv), toBase64(new Uint8Array(ciphertext))].join(".");
    },
    async decrypt(envelope) {
      const [version, iv, ciphertext] = envelope.split(".");
      if (version !== VERSION || !iv || !ciphertext) throw new Error("Unknown credentials format");
      const plaintext = await crypto.subtle.decrypt(
        { name: "AES-GCM", iv: fromBase64(iv), additionalData: ADDITIONAL_DATA },
        key,
        fromBase64(ciphertext),
      );
      return JSON.parse(new TextDecoder().decode(plaintext));
    },
  };
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
