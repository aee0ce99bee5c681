import { hex } from "../hex.ts";

const DEV_SECRET_PATH = "data/dev-secret";

/** Reads the dev-mode secret under data/, making a random one the first time. */
export async function loadDevSecret(path = DEV_SECRET_PATH): Promise<string> {
  try {
    const existing = (await Deno.readTextFile(path)).trim();
    if (existing.length >= 32) return existing;
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  const secret = hex(bytes);
  await Deno.mkdir(path.split("/").slice(0, -1).join("/") || ".", { recursive: true });
  await Deno.writeTextFile(path, secret + "\n", { mode: 0o600 });
  return secret;
}

/** True when a dev secret file already exists. */
export async function hasDevSecret(path = DEV_SECRET_PATH): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}
