import { and, eq, isNotNull } from "drizzle-orm";
import type { CredentialsCipher } from "../auth/credentials_cipher.ts";
import type { Database } from "../db/client.ts";
import { environments } from "../db/schema.ts";

/** What one pass did: rows moved to the current key, rows no key here opens, rows left as they were. */
export interface ReencryptResult {
  reencrypted: number;
  undecryptable: number[];
  current: number;
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
  const result: ReencryptResult = { reencrypted: 0, undecryptable: [], current: 0 };
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
      continue;
    }
    const updated = await db.update(environments)
      .set({ secretCiphertext: sealed })
      .where(and(eq(environments.id, id), eq(environments.secretCiphertext, envelope)))
      .returning({ id: environments.id });
    if (updated.length > 0) result.reencrypted++;
  }
  return result;
}
