/**
 * Opaque page cursors for keyset pagination: `<kind>:<key>` in unpadded base64 of its UTF-8
 * bytes. The kind ("c1" captures, "e1" environments, "m1" members) keeps a cursor of one list
 * from being taken by another; the key is the last row of the page given out.
 */
export function encodeCursor(kind: string, key: string): string {
  const bytes = new TextEncoder().encode(`${kind}:${key}`);
  return btoa(String.fromCharCode(...bytes)).replaceAll("=", "");
}

/** The key inside a cursor of `kind`, or undefined when it is not one this API gave out. */
export function decodeCursor(kind: string, cursor: string): string | undefined {
  try {
    const bytes = Uint8Array.from(atob(cursor), (ch) => ch.charCodeAt(0));
    const text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    return text.startsWith(`${kind}:`) ? text.slice(kind.length + 1) : undefined;
  } catch {
    return undefined;
  }
}

/** A cursor whose key is a row id (captures, environments). */
export const encodeIdCursor = (kind: string, id: number) => encodeCursor(kind, String(id));

/** The id inside an id cursor of `kind`, or undefined when it is not one of ours. */
export function decodeIdCursor(kind: string, cursor: string): number | undefined {
  const key = decodeCursor(kind, cursor);
  return key !== undefined && /^\d{1,15}$/.test(key) ? Number(key) : undefined;
}

/**
 * One page from a query that fetched `limit + 1` rows: the first `limit`, and `next` (the cursor
 * of the page after it) when the extra row shows there is one.
 */
export function pageOf<T>(
  rows: T[],
  limit: number,
  cursorOf: (last: T) => string,
): { page: T[]; next?: string } {
  const page = rows.slice(0, limit);
  return rows.length > limit ? { page, next: cursorOf(page[page.length - 1]) } : { page };
}

/** The message for a cursor this API did not give out (a 400 naming `cursor`). */
export const BAD_CURSOR = "is not a cursor this API gave out; copy it from the Link header";
