/**
 * Entity tags and the conditional request headers (RFC 9110 §8.8.3, §13.1.1–2). A tag here is
 * `"<version>.<digest>"`: the row's version counter, which a conditional statement can compare
 * in its WHERE, and a digest of the caller's representation, so a 304 is never sent for an answer
 * that differs (another role, another masked key) although the row did not change.
 */

/** One entity tag of an If-Match / If-None-Match list: its opaque text (no quotes), weak or not. */
export interface EntityTag {
  weak: boolean;
  opaque: string;
}

/** A parsed If-Match / If-None-Match value: "*" (any current representation) or a list. */
export type TagList = "*" | EntityTag[];

/** The strong ETag header value (with quotes) of `representation` at row `version`. */
export async function strongETag(version: number, representation: unknown): Promise<string> {
  const bytes = new TextEncoder().encode(JSON.stringify(representation));
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  const hex = Array.from(digest.slice(0, 8), (b) => b.toString(16).padStart(2, "0")).join("");
  return `"${version}.${hex}"`;
}

// entity-tag = [ W/ ] DQUOTE *etagc DQUOTE, etagc = %x21 / %x23-7E / obs-text; a comma is an
// etagc, so the list is read tag by tag rather than split on commas.
const LIST_ITEM = /[ \t]*(W\/)?"([\x21\x23-\x7E\x80-\xFF]*)"[ \t]*(?:,|$)/y;

/** Parses an If-Match / If-None-Match value; undefined when it is not a valid list. */
export function parseTagList(value: string): TagList | undefined {
  if (value.trim() === "*") return "*";
  const tags: EntityTag[] = [];
  LIST_ITEM.lastIndex = 0;
  while (LIST_ITEM.lastIndex < value.length) {
    const start = LIST_ITEM.lastIndex;
    const match = LIST_ITEM.exec(value);
    if (!match) {
      // Empty list elements (", ,") are allowed by the list syntax.
      const rest = /^[ \t]*,/.exec(value.slice(start));
      if (!rest) return undefined;
      LIST_ITEM.lastIndex = start + rest[0].length;
      continue;
    }
    tags.push({ weak: match[1] !== undefined, opaque: match[2] });
  }
  return tags.length > 0 ? tags : undefined;
}

/** If-None-Match's weak comparison: does any listed tag name `etag` (a header value)? */
export function noneMatchHits(list: TagList, etag: string): boolean {
  if (list === "*") return true;
  const opaque = etag.slice(1, -1);
  return list.some((tag) => tag.opaque === opaque);
}

/**
 * The row versions an If-Match list accepts (strong comparison: weak tags never match), for a
 * conditional statement's WHERE; "*" accepts any. Tags not of our form accept nothing.
 */
export function ifMatchVersions(list: TagList): "*" | number[] {
  if (list === "*") return "*";
  return list.flatMap((tag) => {
    if (tag.weak) return [];
    const match = /^(\d{1,15})\.[0-9a-f]{16}$/.exec(tag.opaque);
    return match ? [Number(match[1])] : [];
  });
}
