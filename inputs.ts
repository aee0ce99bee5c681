/**
 * One strict parser per kind of text a client sends: integers in paths and queries, media types,
 * display names and user ids. Pure functions with no dependencies, so the OpenAPI schemas, the
 * middleware, the token verifier, the scripts and the database migration all share one rule.
 */

const DIGITS = /^(0|[1-9][0-9]*)$/;

/** What a valid integer looks like, for problem messages. */
export const INTEGER_RULE =
  "must be a whole number written in plain digits, such as 42 (no sign, leading zeros, spaces, decimals or exponent)";

/** Parses `text` as a canonical decimal integer (`^(0|[1-9][0-9]*)$`, at most 2^53 − 1); else undefined. */
export function parseCanonicalInteger(text: string): number | undefined {
  if (!DIGITS.test(text)) return undefined;
  const value = Number(text);
  return Number.isSafeInteger(value) ? value : undefined;
}

/** A parsed media type (RFC 9110 §8.3.1): lower-cased essence and parameter names, unquoted values. */
export interface MediaType {
  type: string;
  subtype: string;
  parameters: Map<string, string>;
}

// RFC 9110 §5.6.2 token and §5.6.4 quoted-string; OWS is spaces and tabs.
const TOKEN = "[!#$%&'*+.^_`|~0-9A-Za-z-]+";
const QUOTED =
  '"(?:[\\t \\x21\\x23-\\x5B\\x5D-\\x7E\\x80-\\xFF]|\\\\[\\t \\x21-\\x7E\\x80-\\xFF])*"';
const ESSENCE = new RegExp(`^(${TOKEN})/(${TOKEN})`);
const PARAMETER = new RegExp(`^[\\t ]*;[\\t ]*(?:(${TOKEN})=(${TOKEN}|${QUOTED}))?`);

/**
 * Parses a Content-Type value: `type "/" subtype *( OWS ";" OWS [ parameter ] )` (RFC 9110
 * §8.3.1, with the empty parameters §5.6.6 allows). Undefined when it does not follow the grammar.
 * A repeated parameter keeps every value joined by NUL, so a caller can refuse the ambiguity.
 */
export function parseMediaType(value: string): MediaType | undefined {
  let rest = value.replace(/^[\t ]+|[\t ]+$/g, "");
  const essence = ESSENCE.exec(rest);
  if (!essence) return undefined;
  rest = rest.slice(essence[0].length);
  const parameters = new Map<string, string>();
  while (rest.length > 0) {
    const parameter = PARAMETER.exec(rest);
    if (!parameter) return undefined;
    rest = rest.slice(parameter[0].length);
    if (parameter[1] === undefined) continue;
    const name = parameter[1].toLowerCase();
    const raw = parameter[2];
    const unquoted = raw.startsWith('"') ? raw.slice(1, -1).replace(/\\(.)/g, "$1") : raw;
    const seen = parameters.get(name);
    parameters.set(name, seen === undefined ? unquoted : `${seen}\0${unquoted}`);
  }
  return {
    type: essence[1].toLowerCase(),
    subtype: essence[2].toLowerCase(),
    parameters,
  };
}

/**
 * Why a Content-Type is not JSON capwatch can read (undefined when it is): the essence must be
 * application/json, and a charset, when given, must be utf-8 (RFC 8259 §8.1).
 */
export function jsonContentTypeProblem(value: string): string | undefined {
  const mediaType = parseMediaType(value);
  if (!mediaType) return "is not a media type (RFC 9110 §8.3.1); send application/json";
  if (mediaType.type !== "application" || mediaType.subtype !== "json") {
    return "must be application/json";
  }
  const charset = mediaType.parameters.get("charset");
  if (charset !== undefined && charset.toLowerCase() !== "utf-8") {
    return "may only name charset=utf-8; JSON bodies are read as UTF-8";
  }
  return undefined;
}

// C0, DEL, C1, and the line and paragraph separators, which break lines in logs and terminals.
// deno-lint-ignore no-control-regex -- matching control characters is the point: they are refused
const CONTROL = /[\x00-\x1F\x7F-\x9F\u2028\u2029]/;
const INVISIBLE = /[\p{Default_Ignorable_Code_Point}\p{Cf}]/u;
const BIDI = /\p{Bidi_Control}/u;
const NONCHARACTER = /\p{Noncharacter_Code_Point}/u;
// A letter, digit, punctuation or symbol that draws something: default-ignorables such as U+3164
// HANGUL FILLER are letters that draw nothing, and U+2800 BRAILLE PATTERN BLANK is a blank symbol.
const VISIBLE = /(?![\p{Default_Ignorable_Code_Point}\u2800])[\p{L}\p{N}\p{P}\p{S}]/u;

const codePoint = (char: string) =>
  `U+${char.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}`;

/**
 * The one spelling of a display name: Unicode NFC, without surrounding white space. Only white
 * space is trimmed (String#trim would also drop U+FEFF, which nameProblem refuses everywhere).
 */
export function normalizeName(text: string): string {
  return text.normalize("NFC").replace(/^\p{White_Space}+|\p{White_Space}+$/gu, "");
}

/** What a valid name looks like, for the document and problem messages. */
export const NAME_RULE =
  "Stored in Unicode NFC without surrounding spaces; needs a visible character; no control, " +
  "invisible (default-ignorable or format, such as U+200B), bidirectional-control or " +
  "non-characters, and no lone surrogates";

/** Why an already normalised name is refused, or undefined when it is acceptable. */
export function nameProblem(name: string): string | undefined {
  if (!name.isWellFormed()) return "must be well-formed Unicode (it has a lone surrogate)";
  const control = CONTROL.exec(name);
  if (control) return `must not contain control characters (found ${codePoint(control[0])})`;
  const bidi = BIDI.exec(name);
  if (bidi) return `must not contain bidirectional controls (found ${codePoint(bidi[0])})`;
  const invisible = INVISIBLE.exec(name);
  if (invisible) {
    return `must not contain invisible characters (found ${codePoint(invisible[0])})`;
  }
  const nonCharacter = NONCHARACTER.exec(name);
  if (nonCharacter) {
    return `must not contain non-characters (found ${codePoint(nonCharacter[0])})`;
  }
  if (!VISIBLE.test(name)) {
    return "must contain a visible character (a letter, digit, punctuation mark or symbol)";
  }
  return undefined;
}

/** The longest user id (the JWT `sub`), in code points. */
export const USER_ID_MAX = 255;

/** What a valid user id looks like, for the document and problem messages. */
export const USER_ID_RULE =
  `1–${USER_ID_MAX} characters, well-formed Unicode, no control characters (U+0000–U+001F, U+007F–U+009F) or line/paragraph separators (U+2028, U+2029)`;

/** Why `text` is not a user id (a JWT `sub`, a member id in a path), or undefined when it is. */
export function userIdProblem(text: string): string | undefined {
  if (text.length === 0) return "must not be empty";
  if (!text.isWellFormed()) return "must be well-formed Unicode (it has a lone surrogate)";
  let length = 0;
  for (const _ of text) length++;
  if (length > USER_ID_MAX) return `must be at most ${USER_ID_MAX} characters`;
  const control = CONTROL.exec(text);
  if (control) return `must not contain control characters (found ${codePoint(control[0])})`;
  return undefined;
}
