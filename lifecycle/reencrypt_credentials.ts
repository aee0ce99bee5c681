import { and, eq, isNotNull } from "drizzle-orm";
import type { CredentialsCipher } from "../auth/credentials_cipher.ts";
import type { Database } from "../db/client.ts";
import { environments } from "../db/schema.ts";
import type { Logger } from "../logger.ts";

/** What one pass did: rows moved to the current key, rows no key here opens, rows left as they were. */
export interface ReencryptResult {
  reencrypted: number;
  undecryptable: number[];
  current: number;
  /** Stale rows this pass did not move (undecryptable, or changed meanwhile: the next pass). */
  left: number;
}

/**
 * Moves every stored secret not sealed by the cipher's current key, or not yet bound to its
 * environment id, onto it (a CREDENTIALS_KEY rotation; the v3 upgrade). Each row is written only if its envelope is still the one read, so a PATCH that
 * lands meanwhile is never overwritten; a row no key opens is left alone and reported.
 */
export async function reencryptCredentials(
  db: Database,
  cipher: CredentialsCipher,
): Promise<ReencryptResult> {
  const rows = await db.select({ id: environments.id, envelope: environments.secretCiphertext })
    .from(environments)
    .where(isNotNull(environments.secretCiphertext));
  const result: ReencryptResult = {
    reencrypted: 0,
    undecryptable: [],
    current: 0,
    left: 0,
  };
  for (const { id, envelope } of rows) {
    if (!envelope || !cipher.isStale(envelope)) {
      result.current++;
      continue;
    }
    let sealed: string;
    try {
      // Older envelopes are unbound; re-sealed, they name the row they belong to (v3).
      sealed = await cipher.encrypt(await cipher.decrypt(envelope, id), id);
    } catch {
      result.undecryptable.push(id);
      result.left++;
      continue;
    }
    const updated = await db.update(environments)
      .set({ secretCiphertext: sealed })
      .where(and(eq(environments.id, id), eq(environments.secretCiphertext, envelope)))
      .returning({ id: environments.id });
    if (updated.length > 0) result.reencrypted++;
    else result.left++;
  }
  return result;
}

/**
 * Re-encryption as a repeated job: main.ts runs it at start and, while previous keys are set, on
 * every sweep, so a row an instance not yet promoted re-sealed under the old key moves again
 * within a sweep. Logs `credentials re-encrypted` with `left` (rows still not under the current
 * key) at start, when rows move and when `left` changes; `left: 0` once every old instance is gone
 * means CREDENTIALS_KEY_PREVIOUS may be dropped.
 * Rows no configured key opens are logged as an error at start and whenever their set changes.
 */
export function createCredentialsRotation(
  db: Database,
  cipher: CredentialsCipher,
  logger: Logger,
  rotating: boolean,
) {
  let reported = "";
  let lastLeft = -1;
  return {
    /** Whether sweeps should run it: only while previous keys are configured. */
    rotating,
    /** One pass; failures are thrown (the sweeper logs them). */
    async run(): Promise<ReencryptResult> {
      const result = await reencryptCredentials(db, cipher);
      const first = lastLeft === -1;
      if ((first && rotating) || result.reencrypted > 0 || (rotating && result.left !== lastLeft)) {
        logger.info("credentials re-encrypted", { keyId: cipher.keyId, ...result });
      }
      lastLeft = result.left;
      const lost = result.undecryptable.join(",");
      if (lost !== reported && lost !== "") {
        // Loud: these environments answer 409 until their key is configured again.
        logger.error("stored credentials no configured key opens", {
          environments: result.undecryptable,
          fix: "set the key they were stored with as CREDENTIALS_KEY_PREVIOUS, or PATCH new ones",
        });
      }
      reported = lost;
      return result;
    },
  };
}
