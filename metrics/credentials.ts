import type { CredentialsCipher } from "../auth/credentials_cipher.ts";
import type { AwsCredentials } from "../config.ts";
import type { EnvironmentRow } from "../db/schema.ts";

export type ResolvedCredentials =
  | { ok: true; source: "environment" | "server"; credentials: AwsCredentials }
  | { ok: false; message: string };

/**
 * The credentials a CloudWatch call for `env` uses: its own (decrypted only here, only in
 * memory), else the server-wide ones, else a message saying how to configure them.
 */
export async function resolveCredentials(
  env: EnvironmentRow,
  serverCredentials: AwsCredentials | undefined,
  cipher: CredentialsCipher | undefined,
): Promise<ResolvedCredentials> {
  if (env.accessKeyId && env.secretCiphertext) {
    if (!cipher) {
      return {
        ok: false,
        message:
          `Environment ${env.id} has stored credentials but the server has no CREDENTIALS_KEY to decrypt them; restore the key it was created with`,
      };
    }
    try {
      const secret = await cipher.decrypt(env.secretCiphertext);
      return {
        ok: true,
        source: "environment",
        credentials: { accessKeyId: env.accessKeyId, ...secret },
      };
    } catch {
      return {
        ok: false,
        message:
          `Environment ${env.id}'s stored credentials do not decrypt with this CREDENTIALS_KEY; restore the old key or PATCH new credentials`,
      };
    }
  }
  if (serverCredentials) return { ok: true, source: "server", credentials: serverCredentials };
  return {
    ok: false,
    message:
      `Environment ${env.id} has no AWS credentials: PATCH /api/environments/${env.id} with credentials, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY on the server`,
  };
}
