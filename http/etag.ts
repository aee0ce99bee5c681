// Entity tags and the conditional request headers (RFC 9110 §8.8.3, §13.1.1, §13.1.2). No Hono
// here, so operations/ may take a parsed condition and put it into a statement's WHERE.

/** One entity tag as sent: its opaque text (without quotes) and whether it was W/ weak. */
export interface EntityTag {
  opaque: string;
  weak: boolean;
}

/** A parsed If-Match / If-None-Match: `*` (any current representation) or the listed tags. */
export type ETagCondition = { any: true } | { any: false; tags: EntityTag[] };

// etagc = %x21 / %x23-7E / obs-text; capwatch's own tags stay within [A-Za-z0-9._-].
const ENTITY_TAG = /^\s*(W\/)?"([\x21\x23-\x7E\x80-\xFF]*)"\s*$/;
// One list member: a tag, or anything up to the next comma (a malformed member, skipped).
const MEMBER = /\s*(?:(W\/)?"([\x21\x23-\x7E\x80-\xFF]*)"\s*(?=,|$)|[^,]+)\s*/g;
const PART = /^[A-Za-z0-9_-]+$/;

/**
 * A strong validator from the parts that decide a representation (e.g. a row's id and version
 * and a computed status): `strongETag("c", 42, 3, "RUNNING")` is `"c.42.3.RUNNING"`, quotes
 * included. Parts are [A-Za-z0-9_-]; anything else throws, since it would make an ambiguous tag.
 */
export function strongETag(...parts: Array<string | number>): string {
  const texts = parts.map(String);
  const bad = texts.find((part) => !PART.test(part));
  if (bad !== undefined) throw new TypeError(`strongETag part ${JSON.stringify(bad)}`);
  return `"${texts.join(".")}"`;
}

/** The parts strongETag was made from, for a tag a client sent back (`[]` for a foreign one). */
export function etagParts(tag: EntityTag): string[] {
  const parts = tag.opaque.split(".");
  return parts.every((part) => PART.test(part)) ? parts : [];
}

/**
 * Parses an If-Match or If-None-Match value: undefined when the header is absent, `{ any: true }`
 * for `*`, else the tags listed (comma-separated; malformed members are dropped). A blank value
 * or a list of only malformed members lists no tag, so it matches nothing: a sent but empty
 * If-Match is a 412, never an unconditional write.
 */
export function parseETagCondition(header: string | null | undefined): ETagCondition | undefined {
  if (header === null || header === undefined) return undefined;
  if (header.trim() === "*") return { any: true };
  const tags: EntityTag[] = [];
  // A comma inside a quoted tag is legal (etagc), so members are scanned, not split on commas.
  for (const match of header.matchAll(MEMBER)) {
    if (match[2] !== undefined) tags.push({ opaque: match[2], weak: match[1] !== undefined });
  }
  return { any: false, tags };
}

/** The EntityTag of a tag strongETag made (its quotes included). */
export function asEntityTag(etag: string): EntityTag {
  const match = ENTITY_TAG.exec(etag);
  if (!match) throw new TypeError(`not an entity tag: ${etag}`);
  return { opaque: match[2], weak: match[1] !== undefined };
}

/**
 * If-Match (strong comparison, §13.1.1): true when `current` (the resource's tag, or undefined
 * when it does not exist) satisfies the condition; an absent condition is always satisfied.
 */
export function ifMatchHolds(condition: ETagCondition | undefined, current: string | undefined) {
  if (condition === undefined) return true;
  if (current === undefined) return false;
  if (condition.any) return true;
  const tag = asEntityTag(current);
  return condition.tags.some((t) => !t.weak && !tag.weak && t.opaque === tag.opaque);
}

/**
 * If-None-Match (weak comparison, §13.1.2): true when a GET should answer 304 Not Modified,
 * i.e. one listed tag, or `*`, matches the current one.
 */
export function ifNoneMatchHits(condition: ETagCondition | undefined, current: string): boolean {
  if (condition === undefined) return false;
  if (condition.any) return true;
  const { opaque } = asEntityTag(current);
  return condition.tags.some((t) => t.opaque === opaque);
}

/**
 * The strong tags of an If-Match condition split into strongETag parts, for a statement's WHERE:
 * "any" for `*`, else the part lists (weak and foreign tags left out, as they never match).
 */
export function strongTagParts(condition: ETagCondition): "any" | string[][] {
  if (condition.any) return "any";
  return condition.tags.filter((t) => !t.weak).map(etagParts).filter((p) => p.length > 0);
}
