/**
 * fast-check arbitraries built from OpenAPI schemas: valid values, invalid ones, whole request
 * bodies (with wrong types, missing and unknown fields, odd content types, oversized payloads),
 * query strings and path parameters. Values that depend on seeded rows are `Ref`s, resolved when
 * the request is sent.
 */
import fc from "../../dev_deps/fast_check.ts";
import type { Parameter, Schema } from "./openapi_contract.ts";

/** A value looked up in the test's world (a seeded id, an existing name) when the request runs. */
export class Ref {
  /** `spelling` writes a numeric id another way in a path: 00042, +42, 42.0, 4.2e1, 0x2a, " 42". */
  constructor(readonly name: string, readonly spelling: Spelling = "plain") {}
  [fc.toStringMethod]() {
    return this.spelling === "plain" ? `ref(${this.name})` : `ref(${this.name}, ${this.spelling})`;
  }
}

/** Other ways to write a numeric id in a path. */
export type Spelling =
  | "plain"
  | "zeros"
  | "plus"
  | "decimal"
  | "exponent"
  | "hex"
  | "space"
  | "trailingSpace"
  | "fullwidth";

/** `value` as `spelling` says (non-numbers stay as they are). */
export function spell(value: string | number, spelling: Spelling): string {
  if (typeof value !== "number") return String(value);
  switch (spelling) {
    case "zeros":
      return `000${value}`;
    case "plus":
      return `+${value}`;
    case "decimal":
      return `${value}.0`;
    case "exponent":
      return value.toExponential();
    case "hex":
      return `0x${value.toString(16)}`;
    case "space":
      return ` ${value}`;
    case "trailingSpace":
      return `${value} `;
    case "fullwidth":
      return String(value).replace(/[0-9]/g, (d) => String.fromCharCode(0xff10 + Number(d)));
    default:
      return String(value);
  }
}

/** Extra values for a property or parameter, by name, mixed in with the schema-driven ones. */
export type Hints = Record<string, fc.Arbitrary<unknown>>;

/** A path parameter: a seeded row, or raw (already URL-encoded) text. */
export type PathValue = Ref | { raw: string };

/** A request body as sent. */
export type BodySpec =
  | { kind: "json"; value: unknown; contentType: string | null }
  | { kind: "text"; text: string; contentType: string | null }
  | { kind: "huge"; contentType: string | null }
  | { kind: "none" };

/** Who calls: a seeded user, a broken credential, a raw Authorization header, or any subject. */
export type Caller = string | { header: string } | { sub: string };

type Resolve = (schema: Schema) => Schema;

const DAY = 86_400_000;
const printableAscii = fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c));

/** Valid ISO-8601 spellings at the edges of what a date-time can say. */
export const edgeDateTimes = fc.constantFrom(
  "9999-12-31T23:59:59Z",
  "9999-12-31T23:59:59.999+14:00",
  "9999-06-30T00:00:00Z",
  "0000-01-01T00:00:00Z",
  "0000-01-01T00:30:00+01:00",
  "0001-01-01T00:00:00-12:00",
  "1969-12-31T23:59:59.999Z",
  "1970-01-01T00:00:00Z",
  "2026-01-01T00:00:00.123456789Z",
);

/** ISO-8601 instants the document calls valid: around `now`, with offsets, and at the edges. */
export function dateTime(now: number): fc.Arbitrary<string> {
  const near = fc.integer({ min: -500 * DAY, max: 60 * DAY }).map((d) => now + d);
  return fc.oneof(
    { weight: 6, arbitrary: near.map((ms) => new Date(ms).toISOString()) },
    { weight: 2, arbitrary: near.map((ms) => new Date(ms).toISOString().replace(/\.\d+Z$/, "Z")) },
    {
      weight: 2,
      arbitrary: fc.tuple(near, fc.integer({ min: -12, max: 14 })).map(([ms, h]) => {
        const local = new Date(ms + h * 3_600_000).toISOString().slice(0, 19);
        const sign = h < 0 ? "-" : "+";
        return `${local}${sign}${String(Math.abs(h)).padStart(2, "0")}:00`;
      }),
    },
    { weight: 1, arbitrary: edgeDateTimes },
    {
      weight: 1,
      arbitrary: fc.constantFrom(-1000, 0, 1000).map((d) => new Date(now + d).toISOString()),
    },
  );
}

/** Values the document accepts for `schema` (or close: patterns fall back to the example). */
export function validValue(
  schema: Schema,
  resolve: Resolve,
  now: number,
  hint?: fc.Arbitrary<unknown>,
): fc.Arbitrary<unknown> {
  const plain = validPlain(resolve(schema), resolve, now);
  return hint ? fc.oneof({ weight: 2, arbitrary: hint }, { weight: 1, arbitrary: plain }) : plain;
}

function validPlain(s: Schema, resolve: Resolve, now: number): fc.Arbitrary<unknown> {
  if (Array.isArray(s.enum)) return fc.constantFrom(...s.enum);
  const types: string[] = Array.isArray(s.type) ? s.type : [s.type];
  if (types.includes("null") && types.length > 1) {
    const rest = types.filter((t) => t !== "null");
    return fc.option(validPlain({ ...s, type: rest.length === 1 ? rest[0] : rest }, resolve, now), {
      nil: null,
      freq: 4,
    });
  }
  switch (types[0]) {
    case "integer": {
      const min = s.minimum ?? (s.exclusiveMinimum !== undefined ? s.exclusiveMinimum + 1 : -1e9);
      const max = s.maximum ?? 1e9;
      return fc.oneof(fc.integer({ min, max }), fc.constantFrom(min, max));
    }
    case "number":
      return fc.double({ noNaN: true, noDefaultInfinity: true });
    case "boolean":
      return fc.boolean();
    case "string": {
      if (s.format === "date-time") return dateTime(now);
      const minLength = s.minLength ?? 0;
      const maxLength = Math.min(s.maxLength ?? 40, 40);
      const text = fc.string({ unit: "grapheme", minLength, maxLength });
      if (typeof s.pattern !== "string") return text;
      // Random text rarely fits a pattern; keep what fits, else use the documented example.
      const re = new RegExp(s.pattern, "u");
      const fallback = typeof s.example === "string" ? s.example : "";
      return text.map((v) => (re.test(v) ? v : fallback));
    }
    case "array":
      return fc.array(validPlain(resolve(s.items ?? {}), resolve, now), {
        maxLength: Math.min(s.maxItems ?? 3, 3),
      });
    case "object":
      return objectOf(s, resolve, now, {}, false);
    default:
      return fc.jsonValue();
  }
}

/** Values the document (most likely) refuses for `schema`: wrong types, out of range, malformed. */
export function invalidValue(schema: Schema, resolve: Resolve): fc.Arbitrary<unknown> {
  const s = resolve(schema);
  const types: string[] = Array.isArray(s.type) ? s.type : [s.type];
  const wrongType = fc.constantFrom<unknown>(null, true, 0, -1, 1.5, "", "x", [], {}, [1, "a"]);
  const specific: fc.Arbitrary<unknown>[] = [wrongType, fc.jsonValue({ maxDepth: 2 })];
  if (Array.isArray(s.enum)) {
    specific.push(
      fc.constantFrom(...s.enum.map((v: unknown) => String(v).toLowerCase()), "", "UNKNOWN"),
    );
  }
  if (types.includes("integer")) {
    const min = s.minimum ?? (s.exclusiveMinimum ?? 0);
    const max = s.maximum ?? 2 ** 31;
    specific.push(
      fc.constantFrom(min - 1, max + 1, 1e21, -1e21, 2 ** 53 + 2, 60.5, String(min), -0),
    );
  }
  if (types.includes("string")) {
    const over = (s.maxLength ?? 100) + 1;
    specific.push(
      fc.constantFrom("", " ", "   \t ", "a\u0000b", "line\nbreak", "\uD800", "x".repeat(over)),
      fc.constantFrom("x".repeat(10_000), "\u00e9".repeat(over)),
      fc.string({ unit: "binary", maxLength: 30 }),
    );
    if (s.format === "date-time") {
      specific.push(fc.constantFrom(
        "yesterday",
        "2026-13-01T00:00:00Z",
        "2026-02-30T00:00:00Z",
        "2026-01-01T24:00:00Z",
        "2026-01-01",
        "2026-01-01T00:00:00",
        "2026-01-01 00:00:00Z",
        "2026-01-01T00:00Z",
        "+010000-01-01T00:00:00.000Z",
        "-000001-01-01T00:00:00.000Z",
        1767225600000,
      ));
    }
  }
  if (types.includes("object")) specific.push(objectOf(s, resolve, 0, {}, true));
  return fc.oneof(...specific);
}

/**
 * Objects from `s.properties`. Valid ones (every required field, valid values) half the time when
 * `allowInvalid`, so accepted requests get exercised too; otherwise fields may be invalid or
 * missing and unknown fields may be added.
 */
export function objectOf(
  s: Schema,
  resolve: Resolve,
  now: number,
  hints: Hints,
  allowInvalid: boolean,
): fc.Arbitrary<Record<string, unknown>> {
  const properties: Record<string, Schema> = s.properties ?? {};
  const required: string[] = s.required ?? [];
  const valid: Record<string, fc.Arbitrary<unknown>> = {};
  const mixed: Record<string, fc.Arbitrary<unknown>> = {};
  for (const [name, prop] of Object.entries(properties)) {
    const value = validValue(prop, resolve, now, hints[name]);
    const optional = required.includes(name) ? undefined : 2;
    valid[name] = value;
    mixed[name] = fc.option(
      fc.oneof({ weight: 3, arbitrary: value }, {
        weight: 1,
        arbitrary: invalidValue(prop, resolve),
      }),
      { nil: undefined, freq: optional ?? 8 },
    );
  }
  const unknown = fc.dictionary(fc.string({ minLength: 1, maxLength: 10 }), fc.jsonValue(), {
    maxKeys: 2,
  });
  const defined = (record: Record<string, unknown>) => {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(record)) if (v !== undefined) out[k] = v;
    return out;
  };
  // A valid object has its required fields and one or two optional ones, as most callers send.
  const optionalKeys = Object.keys(properties).filter((k) => !required.includes(k));
  const validObject = fc.tuple(
    fc.record(valid),
    fc.subarray(optionalKeys, {
      // With nothing required, an empty object says nothing; send at least one field.
      minLength: required.length === 0 && optionalKeys.length > 0 ? 1 : 0,
      maxLength: Math.min(2, optionalKeys.length),
    }),
  ).map(
    ([record, chosen]) =>
      defined(Object.fromEntries(
        Object.entries(record).filter(([k]) => required.includes(k) || chosen.includes(k)),
      )),
  );
  if (!allowInvalid) return validObject;
  const perturbed = fc.tuple(fc.record(mixed), fc.option(unknown, { freq: 3 })).map(
    // Spread keeps an own "__proto__" key from the dictionary, so that gets sent too.
    ([record, extra]) => (extra ? { ...defined(record), ...extra } : defined(record)),
  );
  return fc.oneof({ weight: 2, arbitrary: validObject }, { weight: 1, arbitrary: perturbed });
}

/**
 * Content-Type spellings and whether RFC 9110 §8.3.1 with RFC 8259 makes each a UTF-8 JSON body:
 * essence and parameter names are case-insensitive, OWS may surround ";", values may be quoted.
 */
export const JSON_SPELLINGS: Record<string, boolean> = {
  "application/json": true,
  "application/json; charset=utf-8": true,
  "APPLICATION/JSON": true,
  "application/json ; charset=utf-8": true,
  'Application/JSON;charset="UTF-8"': true,
  "application/json;charset=UTF-8;": true,
  "application/json\t;\tCharset=utf-8": true,
  "application/json; charset=utf-16": false,
  'application/json; charset="utf-16le"': false,
  "application/json; charset=iso-8859-1": false,
  "application/json; charset=utf-8; charset=utf-16": false,
  "application/json; charset=": false,
  "application/json charset=utf-8": false,
  "application/json,text/plain": false,
  "application/jsonx": false,
  "application/json-patch+json": false,
  "application/vnd.api+json": false,
  "text/json": false,
  "text/plain": false,
  "application/x-www-form-urlencoded": false,
  "multipart/form-data; boundary=x": false,
};

const contentTypes = fc.constantFrom<string | null>(...Object.keys(JSON_SPELLINGS), null);

/** Request bodies for an operation whose JSON body has schema `s`. */
export function bodyOf(
  s: Schema,
  resolve: Resolve,
  now: number,
  hints: Hints,
): fc.Arbitrary<BodySpec> {
  const object = objectOf(resolve(s), resolve, now, hints, true);
  const json = (value: unknown, contentType: string | null = "application/json"): BodySpec => ({
    kind: "json",
    value,
    contentType,
  });
  return fc.oneof(
    { weight: 24, arbitrary: object.map((v) => json(v)) },
    { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => json(v)) },
    { weight: 2, arbitrary: fc.tuple(object, contentTypes).map(([v, ct]) => json(v, ct)) },
    {
      weight: 2,
      arbitrary: fc.tuple(
        fc.oneof(
          fc.constantFrom("", "{", '{"name":', "nul", "[1,", "{'a':1}", '{"a":1}}', "\u0000"),
          fc.string({ maxLength: 40 }),
        ),
        fc.constantFrom<string | null>("application/json", "text/plain", null),
      ).map(([text, contentType]): BodySpec => ({ kind: "text", text, contentType })),
    },
    { weight: 1, arbitrary: fc.constant<BodySpec>({ kind: "none" }) },
    {
      weight: 1,
      arbitrary: fc.constantFrom<string | null>("application/json", "text/plain").map(
        (contentType): BodySpec => ({ kind: "huge", contentType }),
      ),
    },
  );
}

/** Bodies sent to operations that declare none: mostly none, sometimes junk or oversized. */
export const strayBody: fc.Arbitrary<BodySpec> = fc.oneof(
  { weight: 12, arbitrary: fc.constant<BodySpec>({ kind: "none" }) },
  {
    weight: 2,
    arbitrary: fc.jsonValue({ maxDepth: 2 }).map((value): BodySpec => ({
      kind: "json",
      value,
      contentType: "application/json",
    })),
  },
  {
    weight: 1,
    arbitrary: fc.constant<BodySpec>({ kind: "huge", contentType: "application/json" }),
  },
);

/** Non-canonical numbers, as URL text: each has a lenient reading as an integer. */
export const NON_CANONICAL_NUMBERS = [
  "0x7",
  "%207",
  "7%20",
  "07",
  "1e3",
  "%2B7",
  "+7",
  "7.0",
  "-0",
  "9007199254740993",
  "9007199254740992",
  "%EF%BC%97",
  "0b1",
  "0o7",
  "1_000",
];

/** Hostile text as URL-encoded bytes: controls, lone surrogates, overlong and invalid UTF-8, invisible and bidi characters, NFD. */
export const HOSTILE_URL_TEXT = [
  "%00",
  "%01",
  "%1B%5B31m",
  "%0D%0Ax",
  "%7F",
  "%C2%85",
  "%ED%A0%80",
  "%ED%BF%BF",
  "a%ED%A0%80b",
  "%C0%AF",
  "%FF",
  "%E2%80%8B",
  "x%E2%80%8B",
  "%E2%80%AEx",
  "%E2%81%A6x%E2%81%A9",
  "%E3%85%A4",
  "%E2%A0%80",
  "%C2%AD",
  "%EF%BB%BFx",
  "cafe%CC%81",
  "caf%C3%A9",
];

/** Names at the edges of Unicode: NFD, invisible, blank-rendering, bidi controls, lone surrogates. */
export const UNICODE_EDGE_NAMES = [
  "cafe\u0301",
  "caf\u00e9",
  "x\u200b",
  "\u200b",
  "\u200b\u200c\u200d",
  "\u3164",
  "\u3164\u3164",
  "\u2800",
  "\u115f\u1160",
  "\u00ad",
  "\ufeffx",
  "x\u2060",
  "\u202egnp.exe",
  "a\u2066b\u2069",
  "\u200ex",
  "\u061cx",
  " \t ",
  "\u00a0",
  "\u3000",
  "\u0301",
  "a\ud800",
  "\udc00z",
  "a\u0007",
  "a\u0085",
  "\uffff",
  "\u{1F642}",
  "\u{1F468}\u200d\u{1F469}",
  "\u2764\ufe0f",
];

const numericEdges = [
  ...NON_CANONICAL_NUMBERS,
  ...HOSTILE_URL_TEXT,
  "0",
  "-1",
  "-42",
  "1.5",
  "1e3",
  "0x1F",
  "9007199254740991",
  "9007199254740993",
  "99999999999999999999999",
  "1e308",
  "Infinity",
  "NaN",
  "%20",
  "%00",
  "%",
  "%zz",
  "%E0%A4%A",
  "null",
  "undefined",
];

/** Path parameter values: seeded rows (`refs`), unknown but valid values, edges and garbage. */
export function pathValue(
  refs: string[],
  schema: Schema,
  resolve: Resolve,
  now: number,
): fc.Arbitrary<PathValue> {
  const encoded = (v: unknown) => ({ raw: encodeURIComponent(String(v)) });
  const s = resolve(schema);
  const unknown = s.type === "integer"
    ? fc.integer({ min: 1_000_000, max: 2 ** 31 }).map(encoded)
    : validValue(s, resolve, now).map(encoded);
  return fc.oneof(
    { weight: 8, arbitrary: fc.constantFrom(...refs).map((r) => new Ref(r)) },
    {
      weight: 1,
      arbitrary: fc.tuple(
        fc.constantFrom(...refs),
        fc.constantFrom<Spelling>(
          "zeros",
          "plus",
          "decimal",
          "exponent",
          "hex",
          "space",
          "trailingSpace",
          "fullwidth",
        ),
      ).map(([r, spelling]) => new Ref(r, spelling)),
    },
    { weight: 2, arbitrary: unknown },
    { weight: 1, arbitrary: fc.constantFrom(...numericEdges).map((raw) => ({ raw })) },
    {
      weight: 2,
      arbitrary: fc.oneof(
        fc.string({ unit: "grapheme", minLength: 1, maxLength: 40 }),
        fc.string({ unit: "binary", minLength: 1, maxLength: 20 }),
        fc.constantFrom("x".repeat(256), "\u00e9".repeat(300), "user one", "a/b", "a?b", "a#b"),
      ).map(encoded),
    },
  ).filter((v) => v instanceof Ref || ![".", "..", ""].includes(v.raw));
}

/** Query text sent as is, already URL-encoded (URLSearchParams would re-encode it). */
export class RawQuery {
  constructor(readonly raw: string) {}
  [fc.toStringMethod]() {
    return `raw(${this.raw})`;
  }
}

const garbageQuery = fc.oneof(
  fc.constantFrom("", "-1", "0", "1.5", "1e3", "abc", "NaN", "Infinity", "%", "\u{1F642}"),
  fc.constantFrom(...NON_CANONICAL_NUMBERS, ...HOSTILE_URL_TEXT).map((raw) => new RawQuery(raw)),
  fc.constantFrom(...UNICODE_EDGE_NAMES),
  fc.constantFrom("x".repeat(300), "201", "2".repeat(30)),
  fc.string({ maxLength: 20 }),
);

/**
 * Query strings from the declared query parameters: half the time well-formed (each parameter
 * absent or one valid value, preferring hints), otherwise with garbage values, repeated
 * single-valued parameters and unknown names.
 */
export function queryOf(
  params: Parameter[],
  resolve: Resolve,
  now: number,
  hints: Hints,
): fc.Arbitrary<[string, unknown][]> {
  const query = params.filter((p) => p.in === "query");
  const valid = query.map((p) => {
    const s = resolve(p.schema);
    const isArray = s.type === "array";
    const item = hints[p.name] ?? validValue(isArray ? resolve(s.items ?? {}) : s, resolve, now);
    const values = fc.array(item, { minLength: 1, maxLength: isArray ? 2 : 1 });
    return fc.option(values.map((vs) => vs.map((v): [string, unknown] => [p.name, v])), {
      nil: [] as [string, unknown][],
      freq: 2,
    });
  });
  const mixed = query.map((p) => {
    const s = resolve(p.schema);
    const isArray = s.type === "array";
    const item = isArray ? resolve(s.items ?? {}) : s;
    const one = fc.oneof(
      { weight: 3, arbitrary: validValue(item, resolve, now, hints[p.name]) },
      { weight: 1, arbitrary: garbageQuery },
    );
    const values = fc.array(one, { minLength: 1, maxLength: isArray ? 4 : 2 }).map((vs) =>
      vs.map((v): [string, unknown] => [p.name, v])
    );
    return fc.option(values, { nil: [] as [string, unknown][], freq: 2 });
  });
  const unknown = fc.option(
    fc.tuple(fc.string({ minLength: 1, maxLength: 8 }), fc.string({ maxLength: 8 })),
    { freq: 3 },
  );
  return fc.oneof(
    fc.tuple(...valid).map((lists) => lists.flat()),
    fc.tuple(fc.tuple(...mixed), unknown).map(([lists, extra]) => [
      ...lists.flat(),
      ...(extra ? [extra] : []),
    ]),
  );
}

/** Subjects at the edges of the user-id rule (1–255 characters, no controls, well-formed). */
const HOSTILE_SUBS = [
  "a\u0000b",
  "a\u0001",
  "\u001b[31m",
  "a\u007f",
  "x\u0085",
  "a\r\nb",
  "\t",
  "a\ud800",
  "x".repeat(255),
  "x".repeat(256),
  "\u{1F642}".repeat(255),
  "\u{1F642}".repeat(256),
  "cafe\u0301",
  "x\u200b",
];

/**
 * Whether a subject is a user id, restated here from the rule (not imported) so the fuzzer checks
 * the verifier rather than agreeing with it.
 */
export function isUserId(sub: string): boolean {
  const length = [...sub].length;
  return length >= 1 && length <= 255 && sub.isWellFormed() &&
    // deno-lint-ignore no-control-regex -- the rule is about control characters
    !/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(sub);
}

/** Callers: mostly seeded users, then broken credentials, raw headers, and arbitrary subjects. */
export function callerOf(users: string[], broken: string[]): fc.Arbitrary<Caller> {
  return fc.oneof(
    { weight: 16, arbitrary: fc.constantFrom(...users) },
    { weight: 2, arbitrary: fc.constantFrom(...broken) },
    {
      weight: 1,
      arbitrary: fc.oneof(
        fc.string({ unit: printableAscii, maxLength: 60 }),
        fc.string({ unit: printableAscii, maxLength: 60 }).map((s) => `Bearer ${s}`),
      ).map((header) => ({ header })),
    },
    {
      weight: 1,
      arbitrary: fc.string({ unit: "grapheme", minLength: 1, maxLength: 300 }).map((sub) => ({
        sub,
      })),
    },
    {
      weight: 1,
      arbitrary: fc.oneof(
        fc.constantFrom(...HOSTILE_SUBS),
        fc.string({ unit: "binary", minLength: 1, maxLength: 20 }),
      ).map((sub) => ({ sub })),
    },
  );
}
