/** `bytes` as lowercase hexadecimal, two digits per byte: [0x0f, 0xa0] is "0fa0". */
export function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The SHA-256 digest (FIPS 180-4, WebCrypto) of `data`, UTF-8 encoded when a string: 32 bytes. */
export async function sha256(data: string | Uint8Array<ArrayBuffer>): Promise<Uint8Array> {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
}
